//! The consumer's rules on in-memory adapters: order within a message group, partial batch
//! failures, idempotency by id, the DNC register before a callback. The same rules on
//! DynamoDB (moto), with messages the receiver's relay produced, are in the receiver's
//! `tests/aws_consumer.rs`.

use aws_lambda_events::event::sqs::SqsEvent;
use call_events_messages::ids::{callback_id, dnc_request_id};
use example_consumer::Consumer;
use example_consumer::memory::{MemoryIdempotency, MemoryRegister, RecordingActions};
use serde_json::json;

const NOW: u64 = 1_795_716_061_000;
const DEADLINE: u64 = NOW + 30_000;

type TestConsumer = Consumer<RecordingActions, MemoryIdempotency, MemoryRegister>;

fn consumer() -> TestConsumer {
    Consumer::new(
        RecordingActions::default(),
        MemoryIdempotency::default(),
        MemoryRegister::default(),
    )
}

fn event_id(n: u32) -> String {
    format!("evt_{n:032x}")
}

fn callback_body(phone: &str, n: u32) -> String {
    json!({
        "schemaVersion": 1, "type": "callback.scheduled", "id": callback_id(&event_id(n)),
        "campaignId": "c1", "phone": phone, "externalLeadId": null,
        "scheduledTime": "2026-11-26T15:00:00.000Z",
        "source": {"eventType": "lead.call_scheduled", "eventTime": "2026-11-25T18:00:00.000Z", "eventId": event_id(n)}
    })
    .to_string()
}

fn dnc_body(phone: &str) -> String {
    json!({
        "schemaVersion": 1, "type": "dnc.requested", "id": dnc_request_id(phone),
        "campaignId": null, "phone": phone, "externalLeadId": null, "reason": "dnc_created",
        "requestedAt": "2026-11-25T18:00:00.000Z",
        "source": {"eventType": "dnc.created", "eventTime": "2026-11-25T18:00:00.000Z", "eventId": event_id(999)},
        "evidence": {"receivedAt": "2026-11-25T18:00:01.000Z", "signatureHeader": "t=1,v1=00", "body": "{}"}
    })
    .to_string()
}

/// A batch as Lambda hands it over: (SQS message id, group or none for a standard queue,
/// body).
fn batch(records: &[(&str, Option<&str>, String)]) -> SqsEvent {
    let records: Vec<_> = records
        .iter()
        .map(|(message_id, group, body)| {
            let mut attributes = json!({"ApproximateReceiveCount": "1"});
            if let Some(group) = group {
                attributes["MessageGroupId"] = json!(group);
            }
            json!({"messageId": message_id, "receiptHandle": "r", "body": body,
                   "attributes": attributes, "messageAttributes": {}, "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn failed(consumer: &TestConsumer, event: &SqsEvent) -> Vec<String> {
    consumer
        .handle(event, NOW, DEADLINE)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

const A: &str = "+12025550100";
const B: &str = "+12025550101";

#[tokio::test]
async fn every_message_is_acted_on_once_in_order() {
    let consumer = consumer();
    let event = batch(&[
        ("m1", Some(A), callback_body(A, 1)),
        ("m2", Some(B), dnc_body(B)),
        ("m3", Some(A), callback_body(A, 2)),
        ("m4", Some(A), callback_body(A, 1)), // a duplicate within the batch
    ]);
    assert_eq!(failed(&consumer, &event).await, Vec::<String>::new());
    assert_eq!(
        consumer.actions().acted(),
        [
            callback_id(&event_id(1)),
            dnc_request_id(B),
            callback_id(&event_id(2))
        ]
    );
}

#[tokio::test]
async fn a_failure_fails_exactly_the_rest_of_its_group() {
    let consumer = consumer();
    consumer.actions().fail_on(&callback_id(&event_id(2)));
    let event = batch(&[
        ("m1", Some(A), callback_body(A, 1)),
        ("m2", Some(A), callback_body(A, 2)), // fails
        ("m3", Some(B), callback_body(B, 3)),
        ("m4", Some(A), callback_body(A, 4)), // after the failure, same group
        ("m5", Some(B), dnc_body(B)),
        ("m6", Some(A), dnc_body(A)),
    ]);
    assert_eq!(failed(&consumer, &event).await, ["m2", "m4", "m6"]);
    assert_eq!(
        consumer.actions().acted(),
        [
            callback_id(&event_id(1)),
            callback_id(&event_id(3)),
            dnc_request_id(B)
        ]
    );

    // SQS hands the group back from the failed message: each is acted on once, in order.
    consumer.actions().heal();
    let retry = batch(&[
        ("m2", Some(A), callback_body(A, 2)),
        ("m4", Some(A), callback_body(A, 4)),
        ("m6", Some(A), dnc_body(A)),
    ]);
    assert_eq!(failed(&consumer, &retry).await, Vec::<String>::new());
    assert_eq!(
        consumer.actions().acted()[3..],
        [
            callback_id(&event_id(2)),
            callback_id(&event_id(4)),
            dnc_request_id(A)
        ]
    );
}

#[tokio::test]
async fn on_a_standard_queue_a_failure_fails_only_its_message() {
    let consumer = consumer();
    consumer.actions().fail_on(&callback_id(&event_id(1)));
    let event = batch(&[
        ("m1", None, callback_body(A, 1)),
        ("m2", None, callback_body(A, 2)),
    ]);
    assert_eq!(failed(&consumer, &event).await, ["m1"]);
    assert_eq!(consumer.actions().acted(), [callback_id(&event_id(2))]);
}

#[tokio::test]
async fn a_redelivered_message_is_skipped_by_id() {
    let consumer = consumer();
    let event = batch(&[
        ("m1", Some(A), callback_body(A, 1)),
        ("m2", Some(B), dnc_body(B)),
    ]);
    assert!(failed(&consumer, &event).await.is_empty());
    // The same messages again, under new SQS message ids (a second send, or a redrive).
    let again = batch(&[
        ("m9", Some(A), callback_body(A, 1)),
        ("m8", Some(B), dnc_body(B)),
    ]);
    assert!(failed(&consumer, &again).await.is_empty());
    assert_eq!(consumer.actions().acted().len(), 2);
}

#[tokio::test]
async fn a_callback_for_a_dnc_phone_is_dropped_and_done() {
    let register = MemoryRegister::default();
    register.add(A);
    let consumer = Consumer::new(
        RecordingActions::default(),
        MemoryIdempotency::default(),
        register,
    );
    let event = batch(&[
        ("m1", Some(A), callback_body(A, 1)),
        ("m2", Some(B), callback_body(B, 2)),
    ]);
    assert!(failed(&consumer, &event).await.is_empty());
    assert_eq!(consumer.actions().acted(), [callback_id(&event_id(2))]);
    // Dropped is done: a redelivery is not looked at again.
    assert!(failed(&consumer, &event).await.is_empty());
    assert_eq!(consumer.actions().acted(), [callback_id(&event_id(2))]);
}

#[tokio::test]
async fn a_message_another_invocation_holds_fails_until_its_claim_lapses() {
    let idempotency = MemoryIdempotency::default();
    idempotency.claimed_elsewhere(&callback_id(&event_id(1)), NOW + 5_000);
    let consumer = Consumer::new(
        RecordingActions::default(),
        idempotency,
        MemoryRegister::default(),
    );
    let event = batch(&[("m1", Some(A), callback_body(A, 1))]);
    assert_eq!(failed(&consumer, &event).await, ["m1"]);
    assert!(consumer.actions().acted().is_empty());
    // After the holder's deadline, the claim is taken over.
    let later = consumer.handle(&event, NOW + 6_000, NOW + 36_000).await;
    assert!(later.batch_item_failures.is_empty());
    assert_eq!(consumer.actions().acted().len(), 1);
}

#[tokio::test]
async fn a_failed_action_releases_its_claim_so_the_retry_acts() {
    let consumer = consumer();
    consumer.actions().fail_on(&dnc_request_id(A));
    let event = batch(&[("m1", Some(A), dnc_body(A))]);
    assert_eq!(failed(&consumer, &event).await, ["m1"]);
    consumer.actions().heal();
    assert!(failed(&consumer, &event).await.is_empty());
    assert_eq!(consumer.actions().acted(), [dnc_request_id(A)]);
}

#[tokio::test]
async fn an_unreadable_body_fails_and_holds_its_group() {
    let consumer = consumer();
    let mut future = callback_body(A, 2);
    future = future.replace(r#""schemaVersion":1"#, r#""schemaVersion":2"#);
    let event = batch(&[
        ("m1", Some(A), "not json".to_owned()),
        ("m2", Some(A), callback_body(A, 1)),
        ("m3", Some(B), future),
        ("m4", Some(B), String::new()),
    ]);
    assert_eq!(failed(&consumer, &event).await, ["m1", "m2", "m3", "m4"]);
    assert!(consumer.actions().acted().is_empty());
}

#[tokio::test]
async fn the_sample_events_are_consumed() {
    for file in ["callback-batch.json", "dnc-batch.json"] {
        let path = format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR"));
        let event: SqsEvent =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let consumer = consumer();
        assert!(failed(&consumer, &event).await.is_empty(), "{file}");
        assert_eq!(consumer.actions().acted().len(), 1, "{file}");
    }
}
