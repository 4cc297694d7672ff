//! Past the stream's 24 hours (docs/contract.md §5), on moto: the relay can neither write
//! the register nor send for longer than the stream keeps records; Lambda gives the batch up
//! to the on-failure bucket (the whole invocation record, the batch's records included) and
//! the stream then trims it (every read of its positions answers
//! `TrimmedDataAccessException`, as DynamoDB Streams does and moto never does). Once the
//! relay recovers, the redrive relays the batch from the bucket, which S3 announced on the
//! relay failure queue: the DNC request is sent, the callback still ahead is sent, the one
//! past due is counted in the relay's line and not sent.

mod support;

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use call_events::adapters::dynamodb::item::PARKED_PARTITION;
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::adapters::{
    DynamoDncRegister, DynamoLeadStore, DynamoStreamShards, S3FailureArchive, SqsPublisher,
};
use call_events::entrypoints::stream::StreamHandler;
use call_events::telemetry::{RelayRun, relay_log_line_of};
use call_events::usecases::relay::Relay;
use serde_json::{Value, json};
use support::aws::{CLOSED_ENDPOINT, TestAws, body_json, deliver, s, signed};
use support::body;
use support::fault_proxy::{Fault, FaultProxy};

const DNC_PHONE: &str = "+12025550721";
const AHEAD_PHONE: &str = "+12025550722";
const PAST_PHONE: &str = "+12025550723";

fn events() -> [Value; 3] {
    let event = |phone: &str, event_type: &str, data: &str| {
        signed(&body(
            event_type,
            "past-24h",
            "2024-01-28T12:00:00Z",
            phone,
            data,
        ))
    };
    [
        event(
            DNC_PHONE,
            "lead.call_key_pressed",
            r#""callType":"inbound","keypressNumber":"9""#,
        ),
        event(
            AHEAD_PHONE,
            "lead.call_scheduled",
            r#""scheduledTime":"2099-01-30T10:00:00Z""#,
        ),
        event(
            PAST_PHONE,
            "lead.call_scheduled",
            r#""scheduledTime":"2024-01-30T10:00:00Z""#,
        ),
    ]
}

/// The messages on the relay failure queue, as Lambda's SQS event.
async fn failure_queue_event(aws: &TestAws) -> (SqsEvent, Vec<aws_sdk_sqs::types::Message>) {
    let mut messages = Vec::new();
    for _ in 0..5 {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(&aws.resources.relay_failures)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        messages.extend(received);
        if messages
            .iter()
            .any(|m| m.body().unwrap_or_default().contains("ObjectCreated"))
        {
            break;
        }
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:relay-failures",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let event = serde_json::from_value(json!({ "Records": records })).unwrap();
    (event, messages)
}

#[tokio::test]
async fn a_batch_given_up_past_the_streams_24_hours_is_relayed_whole_from_the_bucket() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for event in events() {
        let (status, answer) = deliver(&webhook, &event).await;
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("processed"))
        );
    }

    // The relay can neither write nor send: every DynamoDB and SQS call it makes fails.
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws.sdk)
            .endpoint_url(CLOSED_ENDPOINT)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&aws.sdk)
            .endpoint_url(CLOSED_ENDPOINT)
            .build(),
    );
    let down = StreamHandler::new(
        Relay::new(
            SqsPublisher::new(sqs, aws.resources.queues.clone()),
            DynamoDncRegister::new(dynamodb.clone(), &aws.resources.dnc_table_name),
            DynamoLeadStore::new(dynamodb, &aws.resources.table_name),
        ),
        DynamoStreamShards::new(aws.streams.clone()),
        S3FailureArchive::new(aws_sdk_s3::Client::new(&aws.sdk)),
        decode_new_image,
    );
    for _ in 0..3 {
        let reports = aws.pump_with(&down, 10).await;
        assert!(reports[0].retry_from.is_some(), "retried while down");
    }
    assert!(aws.register_item(DNC_PHONE).await.is_none());

    // Lambda gives the batch up to the bucket; the stream then trims its records.
    let key = aws.give_up_to_bucket().await;
    assert!(key.starts_with("aws/lambda/"));
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh");
    let trimmed = FaultProxy::start(&upstream).await;
    trimmed.break_with(Fault::Error("TrimmedDataAccessException"));
    let recovered = aws.relay_with_streams_at(&trimmed.endpoint);

    // The relay is back: the redrive hears of the object from S3, through the queue.
    let (event, messages) = failure_queue_event(&aws).await;
    assert!(!messages.is_empty(), "S3 announced the object");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (response, report) = recovered
        .redrive(event, deadline - Duration::from_secs(10))
        .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(report.redriven, 1);
    assert_eq!(report.gaps, 0);
    assert_eq!(
        trimmed.calls(),
        0,
        "read from the bucket, not the trimmed stream"
    );
    assert_eq!(
        (
            report.counts.dnc_sent,
            report.counts.callbacks_sent,
            report.counts.callbacks_past_due
        ),
        (1, 1, 1)
    );
    let line = relay_log_line_of(&RelayRun::Redrive(report), None, Duration::ZERO, 0);
    assert!(line.contains(r#""CallbacksPastDue":1"#), "{line}");

    let register = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&register, "requestState").as_deref(), Some("sent"));
    let [callbacks, dnc, _] = aws.drain_all_queues().await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["phone"], DNC_PHONE);
    assert_eq!(callbacks.len(), 1);
    assert_eq!(body_json(&callbacks[0])["phone"], AHEAD_PHONE);
}

#[tokio::test]
async fn an_object_the_bucket_no_longer_holds_is_written_down_as_a_gap() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    deliver(&webhook, &events()[1]).await;
    let key = aws.give_up_to_bucket().await;
    aws_sdk_s3::Client::new(&aws.sdk)
        .delete_object()
        .bucket(&aws.resources.relay_failure_bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let (event, _) = failure_queue_event(&aws).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (response, report) = aws.relay().redrive(event, deadline).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((report.gaps, report.redriven), (1, 0));
    let gaps: Vec<_> = aws
        .all_items()
        .await
        .into_iter()
        .filter(|item| s(item, "phone").as_deref() == Some(PARKED_PARTITION))
        .collect();
    assert!(
        gaps.iter()
            .any(|g| s(g, "kind").as_deref() == Some("stream-gap")
                && s(g, "body").as_deref() == Some(key.as_str())),
        "{gaps:?}"
    );
}
