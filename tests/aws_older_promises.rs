//! The safety net keeps the older promises on moto, through the real SDK: a warm webhook
//! instance answers each delivery with one call to DynamoDB while the relay runs and
//! confirms what it sent (counted at a proxy in front of moto, docs/contract.md §2); and
//! two 256 KiB opt-outs and a callback of one lead are all written while the relay is down,
//! the register getting the earliest one's body whole (§5).

mod support;

use serde_json::json;
use support::aws::{TestAws, body_json, deliver, n, signed};
use support::body;
use support::fault_proxy::FaultProxy;

const CAMPAIGN: &str = "promises";

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh")
}

fn event(phone: &str, event_type: &str, second: u32, data: &str) -> serde_json::Value {
    signed(&body(
        event_type,
        CAMPAIGN,
        &format!("2024-01-28T12:00:{second:02}Z"),
        phone,
        data,
    ))
}

#[tokio::test]
async fn a_warm_instance_answers_each_delivery_with_one_call_while_the_relay_confirms() {
    let aws = TestAws::new().await;
    let proxy = FaultProxy::start(&moto()).await;
    let webhook = aws.handler_with_dynamodb_at(&proxy.endpoint);
    let relay = aws.relay();
    let phone = "+12025550851";
    let deliveries = [
        (
            "new lead",
            event(phone, "lead.call_initiated", 1, r#""callType":"outbound""#),
            false,
        ),
        (
            "callback",
            event(
                phone,
                "lead.call_scheduled",
                2,
                r#""scheduledTime":"2099-01-30T10:00:00Z""#,
            ),
            true,
        ),
        (
            "known lead",
            event(phone, "lead.call_received", 3, r#""callType":"outbound""#),
            false,
        ),
        (
            "key 9",
            event(
                phone,
                "lead.call_key_pressed",
                4,
                r#""callType":"inbound","keypressNumber":"9""#,
            ),
            true,
        ),
        (
            "known lead again",
            event(
                phone,
                "lead.call_transferred",
                5,
                r#""callType":"outbound","transferredTo":"+12025550199""#,
            ),
            false,
        ),
    ];
    let mut calls = Vec::new();
    for (what, delivery, then_relay) in deliveries {
        let before = proxy.calls();
        let (status, answer) = deliver(&webhook, &delivery).await;
        // scripts/bench.sh (part 9) shows these lines: BENCHMARKS.md cites them.
        let operations = proxy.operations()[before..].join(", ");
        println!("calls per delivery, relay running: {what}: {operations}");
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("processed")),
            "{what}"
        );
        calls.push((what, proxy.calls() - before));
        if then_relay {
            let reports = aws.pump_with(&relay, 10).await;
            let confirmed: usize = reports.iter().map(|r| r.counts.confirm_failures).sum();
            assert_eq!(confirmed, 0, "{what}: the relay confirmed");
        }
    }
    assert_eq!(
        calls,
        vec![
            ("new lead", 1),
            ("callback", 1),
            ("known lead", 1),
            ("key 9", 1),
            ("known lead again", 1)
        ]
    );
    assert_eq!(
        aws.drain_only(&aws.resources.queues.callback).await.len(),
        1
    );
    assert_eq!(aws.drain_only(&aws.resources.queues.dnc).await.len(), 1);
    let lead = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(n(&lead, "version"), Some(5));
    assert!(!lead.contains_key("relayPending"), "every entry confirmed");
}

#[tokio::test]
async fn two_256_kib_opt_outs_and_a_callback_of_one_lead_are_written_while_the_relay_is_down() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550852";
    let pad = "x".repeat(256 * 1024 - 600);
    let ended = event(
        phone,
        "lead.call_ended",
        11,
        &format!(r#""callType":"inbound","callResult":"dnc","pad":"{pad}""#),
    );
    let callback = event(
        phone,
        "lead.call_scheduled",
        5,
        r#""scheduledTime":"2099-01-30T10:00:00Z""#,
    );
    let key9 = event(
        phone,
        "lead.call_key_pressed",
        10,
        &format!(r#""callType":"inbound","keypressNumber":"9","pad":"{pad}""#),
    );
    for delivery in [&ended, &callback, &key9] {
        let (status, answer) = deliver(&webhook, delivery).await;
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("processed")),
            "{answer}"
        );
    }
    // The relay comes back: every record relayed in order, the register keeps the earliest
    // signal (the key 9, delivered last) with its body whole, and no callback leaves.
    let reports = aws.pump().await;
    assert!(reports.iter().all(|r| r.retry_from.is_none()));
    assert!(
        aws.drain_only(&aws.resources.queues.callback)
            .await
            .is_empty()
    );
    let dnc = aws.drain_only(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1);
    let entry = aws.register_item(phone).await.unwrap();
    let kept = entry["evidence"].as_m().unwrap()["body"]
        .as_s()
        .unwrap()
        .clone();
    assert_eq!(kept, key9["body"].as_str().unwrap());
    assert_eq!(body_json(&dnc[0])["phone"], phone);
}

#[tokio::test]
async fn a_write_whose_outbox_was_written_over_by_an_earlier_release_still_lands() {
    // During a canary, the earlier release writes a lead whole, without this release's
    // outbox: a warm instance adds to a map DynamoDB no longer holds (ValidationException),
    // reads the item once and writes again.
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550853";
    let callback = event(
        phone,
        "lead.call_scheduled",
        1,
        r#""scheduledTime":"2099-01-30T10:00:00Z""#,
    );
    assert_eq!(deliver(&webhook, &callback).await.1["status"], "processed");
    let mut item = aws.item(phone, CAMPAIGN).await.unwrap();
    item.remove("relayOutbox");
    item.remove("dncBodies");
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let key9 = event(
        phone,
        "lead.call_key_pressed",
        2,
        r#""callType":"inbound","keypressNumber":"9""#,
    );
    let (status, answer) = deliver(&webhook, &key9).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    let lead = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(n(&lead, "keypresses"), Some(1));
    assert!(lead.contains_key("relayOutbox"));
}
