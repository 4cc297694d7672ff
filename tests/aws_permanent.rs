//! Permanent failures are never answered 5xx (docs/contract.md §2): five 503s and the sender
//! stops sending anything. What can never be stored is quarantined with its reason and
//! answered 200; a DNC signal in it still reaches the register.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use support::aws::{TestAws, deliver, n, s, signed};
use support::body;

#[tokio::test]
async fn a_campaign_id_longer_than_dynamodb_can_key_is_quarantined_on_every_delivery() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let campaign = "c".repeat(1500);
    let raw = body(
        "lead.call_received",
        &campaign,
        "2024-01-28T12:00:00Z",
        "+12025550400",
        "",
    );
    for _ in 0..5 {
        let (status, answer) = deliver(&webhook, &signed(&raw)).await;
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("quarantined"))
        );
        assert_eq!(
            answer["reason"],
            "metadata.campaignId: must be at most 1024 bytes long"
        );
    }
    assert!(aws.lead_items().await.is_empty());
    let [_, _, quarantine] = aws.drain_all_queues().await;
    assert_eq!(quarantine.len(), 5);
}

#[tokio::test]
async fn an_external_lead_id_longer_than_the_index_can_key_is_quarantined() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let raw = body(
        "lead.call_received",
        "spring",
        "2024-01-28T12:00:00Z",
        "+12025550401",
        &format!(r#""externalLeadId":"{}""#, "x".repeat(2049)),
    );
    let (status, answer) = deliver(&webhook, &signed(&raw)).await;
    assert_eq!(
        (status, answer["reason"].clone()),
        (
            200,
            json!("data.externalLeadId: must be at most 2048 bytes long")
        )
    );
}

#[tokio::test]
async fn an_unreadable_stored_lead_is_quarantined_not_503_and_its_dnc_signal_still_counts() {
    let aws = TestAws::new().await;
    let phone = "+12025550402";
    // Another writer (or a damaged restore) left an item this code cannot read.
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.table_name)
        .item("phone", AttributeValue::S(phone.into()))
        .item("campaignId", AttributeValue::S("spring".into()))
        .item("version", AttributeValue::N("7".into()))
        .item("status", AttributeValue::N("12".into()))
        .send()
        .await
        .unwrap();
    let webhook = aws.handler().await;
    let key9 = signed(&body(
        "lead.call_key_pressed",
        "spring",
        "2024-01-28T12:00:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    for _ in 0..5 {
        let (status, answer) = deliver(&webhook, &key9).await;
        assert_eq!(
            (status, answer["status"].clone(), answer["reason"].clone()),
            (
                200,
                json!("quarantined"),
                json!("cannot be stored: the stored lead item is unreadable")
            )
        );
        // docs/contract.md §2: the signal was committed for the register, and the answer says so.
        assert_eq!(answer["effects"], json!(["dnc"]));
    }
    let item = aws.item(phone, "spring").await.unwrap();
    assert_eq!(
        n(&item, "version"),
        Some(7),
        "the damaged item is left alone"
    );
    // The opt-out is not lost: the register has it, and the DNC request leaves once.
    let [_, dnc, quarantine] = aws.drain_all_queues().await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(quarantine.len(), 5);
    let register = aws.register_item(phone).await.unwrap();
    assert_eq!(s(&register, "reason").as_deref(), Some("keypress_9"));
}
