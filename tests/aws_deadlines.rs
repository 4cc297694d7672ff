//! The relay's stream batch under SQS latency, on moto behind the fault proxy: ten records,
//! each send 5 s late, are answered before the function's 30 s timeout with a partial batch
//! response; Lambda's retry of the rest sends each message once.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use support::aws::{TestAws, body_json, deliver, signed};
use support::body;
use support::fault_proxy::{Fault, FaultProxy};
use tokio::time::Instant;

#[tokio::test]
async fn a_batch_under_5_s_of_sqs_latency_is_answered_before_the_timeout_and_sent_once() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for i in 0..10 {
        let event = body(
            "lead.call_scheduled",
            "slow-sqs",
            "2024-01-28T12:00:00Z",
            &format!("+120255508{i:02}"),
            r#""scheduledTime":"2099-01-30T10:00:00Z""#,
        );
        assert_eq!(deliver(&webhook, &signed(&event)).await.0, 200);
    }
    let records = aws.new_stream_records().await;
    assert_eq!(records.len(), 10);
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh");
    let proxy = FaultProxy::start(&upstream).await;
    proxy.break_with(Fault::Latency(Duration::from_secs(5)));
    let slow = aws.relay_with_sqs_at(&proxy.endpoint);

    // As Lambda invokes it: the event, and the invocation's deadline 30 s on.
    let mut event = Event::default();
    event.records = records.clone();
    let started = Instant::now();
    let timeout = started + Duration::from_secs(30);
    let answer = slow
        .handle_event(serde_json::to_value(&event).unwrap(), timeout)
        .await
        .unwrap();
    assert!(Instant::now() < timeout, "answered after the timeout");
    let failures = answer["batchItemFailures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{answer}");
    let retry_from = failures[0]["itemIdentifier"].as_str().unwrap();
    let position = records
        .iter()
        .position(|r| r.change.sequence_number.as_deref() == Some(retry_from))
        .unwrap();
    assert!((1..10).contains(&position), "{position}");

    // Lambda hands over the rest, SQS quick again: each message leaves once.
    proxy.heal();
    let mut rest = Event::default();
    rest.records = records[position..].to_vec();
    let (response, report) = aws.relay().respond(rest, support::budget()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        position + report.counts.callbacks_sent,
        10,
        "a message sent twice"
    );
    let [callbacks, _, _] = aws.drain_all_queues().await;
    let ids: BTreeSet<String> = callbacks
        .iter()
        .map(|m| body_json(m)["id"].to_string())
        .collect();
    assert_eq!((callbacks.len(), ids.len()), (10, 10));
}
