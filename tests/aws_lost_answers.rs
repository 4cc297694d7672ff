//! A write whose answer was lost, on moto behind the fault proxy: DynamoDB commits the
//! `PutItem`, its answer is a 500, the SDK retries the same request and meets its own write.
//! That is the same delivery, not another (docs/contract.md §2): answered `processed` with
//! its effects, once; the sender's next delivery of the event is the duplicate.

mod support;

use serde_json::json;
use support::aws::{LOCAL_SECRET, TestAws, body_json, deliver, resign, sample};
use support::fault_proxy::{Fault, FaultProxy};

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh")
}

#[tokio::test]
async fn a_write_that_committed_although_its_answer_was_lost_is_processed_with_its_effects() {
    let cases = [
        (
            "07-call-scheduled.json",
            "lead.call_scheduled",
            json!(["callback"]),
        ),
        ("31-legacy-dnc-created.json", "dnc.created", json!(["dnc"])),
    ];
    for (name, event_type, effects) in cases {
        let aws = TestAws::new().await;
        let proxy = FaultProxy::start(&moto()).await;
        let webhook = aws.handler_with_dynamodb_at(&proxy.endpoint);
        let event = resign(sample(name), LOCAL_SECRET);

        proxy.inject(&[Fault::CommitThen500]);
        let calls = proxy.calls();
        let (status, answer) = deliver(&webhook, &event).await;
        assert!(proxy.calls() >= calls + 2, "{name}: the SDK did not retry");
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["status"], "processed", "{name}: {answer}");
        assert_eq!(answer["eventType"], event_type, "{name}");
        assert_eq!(answer["effects"], effects, "{name}");

        // The sender's own redelivery is the duplicate.
        let (status, again) = deliver(&webhook, &event).await;
        assert_eq!((status, again["status"].clone()), (200, json!("duplicate")));
        assert_eq!(again["eventId"], answer["eventId"]);

        // What the write decided leaves once.
        aws.pump().await;
        let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
        let sent = match event_type {
            "dnc.created" => &dnc,
            _ => &callbacks,
        };
        assert_eq!(sent.len(), 1, "{name}");
        assert_eq!(body_json(&sent[0])["source"]["eventId"], answer["eventId"]);
        assert!(quarantine.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn another_delivery_of_an_event_whose_write_committed_is_still_a_duplicate() {
    // Two webhook instances: the first commits; the second, which knew the lead before
    // that write, meets it on its conditional write. Not its own write: a duplicate.
    let aws = TestAws::new().await;
    let first = aws.handler().await;
    let event = resign(sample("07-call-scheduled.json"), LOCAL_SECRET);
    let proxy = FaultProxy::start(&moto()).await;
    let second = aws.handler_with_dynamodb_at(&proxy.endpoint);
    assert_eq!(deliver(&first, &event).await.1["status"], "processed");
    proxy.inject(&[Fault::CommitThen500]);
    let (status, answer) = deliver(&second, &event).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
}
