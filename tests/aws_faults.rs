//! Faults in AWS, on moto: the webhook's answer depends on DynamoDB alone, a transient
//! fault gets a retryable answer, and no decided message is lost or sent twice by id.

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use support::aws::{
    CLOSED_ENDPOINT, LOCAL_SECRET, TestAws, body_json, deliver, n, resign, s, sample, signed,
};
use support::body;

const CAMPAIGN: &str = "spring-campaign";
const LEAD_C: &str = "+12025550103";

fn ids(messages: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| body_json(m)["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sqs_outage_costs_no_non_2xx_answer_and_the_relay_sends_every_message_once_after_it() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    // The sender delivers each event once and never calls again.
    for name in [
        "07-call-scheduled.json",
        "09-call-key-pressed-9.json",
        "21-malformed-json.json",
    ] {
        let (status, answer) = deliver(&webhook, &resign(sample(name), LOCAL_SECRET)).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }

    let relay_cut_off = aws.relay_with_sqs_at(CLOSED_ENDPOINT);
    for _ in 0..3 {
        let reports = aws.pump_with(&relay_cut_off, 100).await;
        assert!(
            reports.iter().any(|r| r.retry_from.is_some()),
            "{reports:?}"
        );
        assert!(
            reports
                .iter()
                .all(|r| r.counts.callbacks_sent + r.counts.dnc_sent == 0)
        );
    }
    let q = &aws.resources.queues;
    for url in [&q.callback, &q.dnc, &q.quarantine] {
        assert!(aws.drain_only(url).await.is_empty());
    }

    // SQS is back: the relay retries from the failed record and everything leaves once.
    let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
    assert_eq!(callbacks.len(), 1);
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["reason"], "keypress_9");
    assert_eq!(quarantine.len(), 1);
    assert!(aws.drain_all_queues().await.iter().all(Vec::is_empty));
}

#[tokio::test]
async fn relay_handed_the_same_records_again_sends_the_same_ids_and_fifo_keeps_one_of_each() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for name in ["07-call-scheduled.json", "09-call-key-pressed-9.json"] {
        assert_eq!(
            deliver(&webhook, &resign(sample(name), LOCAL_SECRET))
                .await
                .0,
            200
        );
    }
    let records = aws.new_stream_records().await;
    let relay = aws.relay();
    for _ in 0..3 {
        let mut event = aws_lambda_events::event::dynamodb::Event::default();
        event.records = records.clone();
        let (response, _) = relay.respond(event, support::budget()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let q = &aws.resources.queues;
    let callbacks = aws.drain_only(&q.callback).await;
    let dnc = aws.drain_only(&q.dnc).await;
    assert_eq!(ids(&callbacks).len(), 1);
    assert_eq!(ids(&dnc).len(), 1);
}

#[tokio::test]
async fn dynamodb_down_answers_503_and_commits_nothing() {
    let aws = TestAws::new().await;
    let dynamo_down = aws.handler_with_dynamodb_at(CLOSED_ENDPOINT);
    for sample_name in [
        "07-call-scheduled.json",
        "09-call-key-pressed-9.json",
        "21-malformed-json.json",
    ] {
        let (status, answer) =
            deliver(&dynamo_down, &resign(sample(sample_name), LOCAL_SECRET)).await;
        assert_eq!(
            (status, answer),
            (503, json!({"error": "backend_unavailable"})),
            "{sample_name}"
        );
    }
    assert!(aws.all_items().await.is_empty());
    assert!(aws.drain_all_queues().await.iter().all(Vec::is_empty));
}

#[tokio::test]
async fn after_a_503_the_senders_retry_commits_the_event_and_its_messages_once() {
    let aws = TestAws::new().await;
    let key9 = || resign(sample("09-call-key-pressed-9.json"), LOCAL_SECRET);
    let dynamo_down = aws.handler_with_dynamodb_at(CLOSED_ENDPOINT);
    assert_eq!(deliver(&dynamo_down, &key9()).await.0, 503);
    let webhook = aws.handler().await;
    let (status, answer) = deliver(&webhook, &key9()).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed"))
    );
    let (status, answer) = deliver(&webhook, &key9()).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
    assert_eq!(aws.drain(&aws.resources.queues.dnc).await.len(), 1);
    let item = aws.item(LEAD_C, CAMPAIGN).await.unwrap();
    assert_eq!(n(&item, "keypresses"), Some(1));
}

#[tokio::test]
async fn concurrent_deliveries_of_different_events_for_one_lead_all_land() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let phone = "+12025550166";
    let events: Vec<_> = (0..6)
        .map(|i| {
            signed(&body(
                "lead.call_initiated",
                CAMPAIGN,
                &format!("2024-01-28T12:0{i}:00Z"),
                phone,
                r#""isScheduled":false"#,
            ))
        })
        .collect();
    let answers = futures::future::join_all(events.iter().map(|e| deliver(&handler, e))).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let item = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(n(&item, "callsInitiated"), Some(6));
    assert_eq!(
        s(&item, "lastEventTime").as_deref(),
        Some("2024-01-28T12:05:00.000Z")
    );
}

#[tokio::test]
async fn two_instances_with_stale_caches_both_land_and_a_redelivery_is_still_a_duplicate() {
    let aws = TestAws::new().await;
    let (a, b) = (aws.handler().await, aws.handler().await);
    let phone = "+12025550155";
    let initiated = signed(&body(
        "lead.call_initiated",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        phone,
        r#""isScheduled":false"#,
    ));
    let key9 = signed(&body(
        "lead.call_key_pressed",
        CAMPAIGN,
        "2024-01-28T12:01:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ));
    let scheduled = signed(&body(
        "lead.call_scheduled",
        CAMPAIGN,
        "2024-01-28T11:59:00Z",
        phone,
        r#""scheduledTime":"2024-01-30T10:00:00Z""#,
    ));
    // A knows the lead at version 1; B then moves it to version 2 behind A's back.
    assert_eq!(deliver(&a, &initiated).await.1["status"], "processed");
    assert_eq!(deliver(&b, &key9).await.1["status"], "processed");
    // A's cache is stale: its write conflicts, DynamoDB hands back the lead, A decides again.
    assert_eq!(deliver(&a, &key9).await.1["status"], "duplicate");
    let (status, answer) = deliver(&a, &scheduled).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed"))
    );
    assert_eq!(answer["effects"], json!([]), "the lead is DNC: no callback");

    let item = aws.item(phone, CAMPAIGN).await.unwrap();
    assert_eq!(
        (n(&item, "callsInitiated"), n(&item, "keypresses")),
        (Some(1), Some(1))
    );
    assert_eq!(s(&item, "status").as_deref(), Some("dnc"));
    assert_eq!(n(&item, "version"), Some(3));
    let [callbacks, dnc, _] = aws.drain_all_queues().await;
    assert!(callbacks.is_empty());
    assert_eq!(dnc.len(), 1);
}

#[tokio::test]
async fn each_committed_write_appears_on_the_stream_with_what_it_decided() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for name in [
        "01-call-initiated.json",
        "07-call-scheduled.json",
        "09-call-key-pressed-9.json",
    ] {
        deliver(&webhook, &resign(sample(name), LOCAL_SECRET)).await;
    }
    let records = aws.new_stream_records().await;
    let mut decided: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in &records {
        let committed =
            call_events::adapters::dynamodb::item::committed(record.change.new_image.clone())
                .unwrap();
        for m in committed.messages {
            decided.entry(m.message_type).or_default().push(m.id);
        }
        for signal in committed.dnc_signals {
            decided
                .entry("dnc signal".into())
                .or_default()
                .push(signal.id().to_owned());
        }
    }
    assert_eq!(decided.get("callback.scheduled").map(Vec::len), Some(1));
    assert_eq!(decided.get("dnc signal").map(Vec::len), Some(1));
}
