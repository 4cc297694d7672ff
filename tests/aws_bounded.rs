//! No history, however long, makes a lead's deliveries fail (docs/contract.md §4): the item
//! keeps the latest `RECENT_EVENTS` event ids and a horizon, so it stays under a fixed
//! bound.

mod support;

use call_events::adapters::dynamodb::item::item_size;
use call_events::adapters::dynamodb::item::lead_item;
use call_events::core::domain::Timestamp;
use call_events::core::lead::{Decision, LeadState, RECENT_EVENTS, decide};
use serde_json::json;
use support::aws::{TestAws, deliver, n, s, signed};
use support::{body, parse_call};

const PHONE: &str = "+12025550500";
const CAMPAIGN: &str = "long-campaign";
/// The documented bound of a lead item whose last write decided no DNC signal (a DNC signal
/// adds its request body, at most 256 KiB, to the write that decided it).
const BOUND_BYTES: usize = 12 * 1024;

fn key_at(second: u64, key: &str) -> String {
    let t = Timestamp::from_unix_parts(1_706_400_000 + second as i64, 0).unwrap();
    body(
        "lead.call_key_pressed",
        CAMPAIGN,
        &t.to_rfc3339(),
        PHONE,
        &format!(r#""callType":"inbound","keypressNumber":"{key}""#),
    )
}

/// The state after 20,000 distinct events, built in-process.
fn long_history(events: u64) -> LeadState {
    let mut state = None;
    for second in 0..events {
        let event = parse_call(&key_at(second * 10, "5"));
        match decide(state.as_ref(), &event, &event.id()) {
            Decision::Applied(applied) => state = Some(applied.state),
            Decision::Duplicate => panic!("distinct events"),
        }
    }
    state.unwrap()
}

#[tokio::test]
async fn a_lead_with_20000_distinct_events_still_gets_200_and_its_item_stays_bounded() {
    let aws = TestAws::new().await;
    let state = long_history(20_000);
    assert_eq!(state.recent.len(), RECENT_EVENTS);
    let item = lead_item(&state, &Default::default(), 20_000, Timestamp::now()).unwrap();
    assert!(item_size(&item) < BOUND_BYTES, "{} bytes", item_size(&item));
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let webhook = aws.handler().await;
    let (status, answer) = deliver(&webhook, &signed(&key_at(10 * 20_000, "1"))).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed"))
    );
    let stored = aws.item(PHONE, CAMPAIGN).await.unwrap();
    assert_eq!(n(&stored, "keypresses"), Some(20_001));
    assert_eq!(s(&stored, "status").as_deref(), Some("transfer_requested"));
    let size = item_size(&stored);
    eprintln!("lead item after 20,001 distinct events: {size} bytes");
    assert!(size < BOUND_BYTES, "{size} bytes");

    // A redelivery from long ago is taken for what it is; an old opt-out still counts.
    let (_, old) = deliver(&webhook, &signed(&key_at(50, "5"))).await;
    assert_eq!(old["status"], "duplicate");
    let (_, old_dnc) = deliver(&webhook, &signed(&key_at(55, "9"))).await;
    assert_eq!(
        (old_dnc["status"].clone(), old_dnc["effects"].clone()),
        (json!("processed"), json!(["dnc"]))
    );
    let stored = aws.item(PHONE, CAMPAIGN).await.unwrap();
    assert_eq!(s(&stored, "status").as_deref(), Some("dnc"));
    aws.pump().await;
    assert!(aws.register_item(PHONE).await.is_some());
}
