//! Register entries as the relay writes them, for tests that seed the register directly.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::{CampaignId, EventId, Phone, Timestamp};
use call_events::core::lead::{DncSignal, SignalSource};
use call_events::core::register::{
    DncReason, DncSignalRecord, Evidence, RegisterEntry, RequestState,
};

/// The entry of one key-9 signal of `campaign` at `at` (RFC 3339), id `event_id`, kept with
/// `evidence`, its request sent on 2024-01-29.
pub fn key9_entry(
    phone: &str,
    campaign: &str,
    at: &str,
    event_id: &str,
    evidence: Evidence,
) -> RegisterEntry {
    let at = Timestamp::parse(at).unwrap();
    let signal = DncSignal {
        phone: Phone::parse(phone).unwrap(),
        campaign_id: Some(CampaignId::from_stored(campaign.into())),
        external_lead_id: None,
        reason: DncReason::Keypress9,
        at,
        source: SignalSource {
            event_time: at,
            event_id: EventId::from_stored(event_id.into()),
        },
    };
    RegisterEntry {
        first: DncSignalRecord::new(&signal, evidence),
        signed: None,
        signals: 1,
        recent_signal_ids: [event_id.to_owned()].into(),
        request: RequestState::Sent {
            at: "2024-01-29T09:00:00.000Z".into(),
        },
        earlier_request: None,
    }
}

/// Puts a key-9 entry of `campaign` for each of `phones` on the register (`BatchWriteItem`).
pub async fn put_key9_entries(aws: &super::aws::TestAws, phones: &[String], campaign: &str) {
    let items: Vec<HashMap<String, AttributeValue>> = phones
        .iter()
        .enumerate()
        .map(|(i, phone)| {
            let evidence =
                Evidence::of_request("2024-01-26T12:00:01.000Z".into(), "t=1,v2=00".into(), b"{}");
            let entry = key9_entry(
                phone,
                campaign,
                "2024-01-26T12:00:00.000Z",
                &format!("evt_{i}"),
                evidence,
            );
            register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap()
        })
        .collect();
    put_register_items(aws, &items).await;
}

/// Puts `items` on the register as they are (`BatchWriteItem`, 25 at a time; moto takes
/// every batch whole, which this checks).
pub async fn put_register_items(
    aws: &super::aws::TestAws,
    items: &[HashMap<String, AttributeValue>],
) {
    for chunk in items.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let written = aws
            .dynamodb
            .batch_write_item()
            .request_items(&aws.resources.dnc_table_name, writes)
            .send()
            .await
            .unwrap();
        assert!(written.unprocessed_items.unwrap_or_default().is_empty());
    }
}
