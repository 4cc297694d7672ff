//! The fault matrix: every injected fault (latency, connection reset, HTTP 500, throttling,
//! a validation error), on DynamoDB (the webhook) and on SQS (the relay) separately, once
//! and then on every call. For each cell the webhook's answer is the contract's, the lead
//! item is right, and after recovery every decided message is sent exactly once by id.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::aws::{TestAws, body_json, deliver, n, s, signed};
use support::body;
use support::fault_proxy::{Fault, FaultProxy};

const FAULTS: [Fault; 5] = [
    Fault::Latency(Duration::from_millis(300)),
    Fault::Reset,
    Fault::Http500,
    Fault::Throttle,
    Fault::Invalid,
];

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh")
}

fn key_9(phone: &str) -> Value {
    signed(&body(
        "lead.call_key_pressed",
        "matrix",
        "2024-01-28T12:00:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ))
}

fn scheduled(phone: &str) -> Value {
    signed(&body(
        "lead.call_scheduled",
        "matrix",
        "2024-01-28T12:01:00Z",
        phone,
        r#""scheduledTime":"2099-01-30T10:00:00Z""#,
    ))
}

/// Every message on the three queues, and whether each id came once only.
async fn sent_once_by_id(aws: &TestAws) -> (usize, usize, usize) {
    let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
    for queue in [&callbacks, &dnc] {
        let ids: BTreeSet<String> = queue
            .iter()
            .map(|m| body_json(m)["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), queue.len(), "an id was sent twice");
    }
    (callbacks.len(), dnc.len(), quarantine.len())
}

#[tokio::test]
async fn dynamodb_faults_give_the_contracts_answer_and_lose_nothing() {
    for fault in FAULTS {
        let aws = TestAws::new().await;
        let proxy = FaultProxy::start(&moto()).await;
        let webhook = aws.handler_with_dynamodb_at(&proxy.endpoint);
        let (dnc_phone, callback_phone) = ("+12025550601", "+12025550602");

        // One faulty call: the SDK's retry absorbs what may pass.
        proxy.inject(&[fault]);
        let (status, answer) = deliver(&webhook, &key_9(dnc_phone)).await;
        let expected = match fault {
            Fault::Invalid => json!("quarantined"),
            _ => json!("processed"),
        };
        assert_eq!(
            (status, answer["status"].clone()),
            (200, expected),
            "{fault:?} once"
        );

        // Every call: a transient fault is a 503 the sender retries; nothing is committed.
        proxy.break_with(fault);
        let (status, answer) = deliver(&webhook, &scheduled(callback_phone)).await;
        match fault {
            Fault::Latency(_) => assert_eq!(status, 200, "{fault:?}: slow is not down"),
            Fault::Invalid => assert_eq!(status, 503, "{fault:?}: not even the quarantine write"),
            _ => assert_eq!(
                (status, answer),
                (503, json!({"error": "backend_unavailable"})),
                "{fault:?} always"
            ),
        }
        proxy.heal();

        // Recovery: the sender's retry lands; every decided message leaves once.
        let (status, answer) = deliver(&webhook, &scheduled(callback_phone)).await;
        assert_eq!(status, 200, "{fault:?} after recovery: {answer}");
        let (status, _) = deliver(&webhook, &key_9(dnc_phone)).await;
        assert_eq!(status, 200);
        let (callbacks, dnc, _) = sent_once_by_id(&aws).await;
        assert_eq!((callbacks, dnc), (1, 1), "{fault:?}");
        let lead = aws.item(dnc_phone, "matrix").await.unwrap();
        assert_eq!(s(&lead, "status").as_deref(), Some("dnc"), "{fault:?}");
        assert_eq!(n(&lead, "keypresses"), Some(1), "{fault:?}");
        let lead = aws.item(callback_phone, "matrix").await.unwrap();
        assert_eq!(
            s(&lead, "status").as_deref(),
            Some("callback_scheduled"),
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn sqs_faults_never_reach_the_sender_and_every_message_leaves_once_after_recovery() {
    for fault in FAULTS {
        let aws = TestAws::new().await;
        let webhook = aws.handler().await;
        let proxy = FaultProxy::start(&moto()).await;
        let relay = aws.relay_with_sqs_at(&proxy.endpoint);
        for event in [key_9("+12025550611"), scheduled("+12025550612")] {
            assert_eq!(deliver(&webhook, &event).await.0, 200, "{fault:?}");
        }
        match fault {
            // SQS refuses one message for good: parked with its reason, the rest goes on.
            Fault::Invalid => {
                proxy.inject(&[fault]);
                let reports = aws.pump_with(&relay, 100).await;
                assert_eq!(reports.iter().map(|r| r.counts.parked).sum::<usize>(), 1);
                assert!(reports.iter().all(|r| r.retry_from.is_none()));
                let (callbacks, dnc, quarantine) = sent_once_by_id(&aws).await;
                assert_eq!((callbacks + dnc, quarantine), (1, 1), "{fault:?}");
                continue;
            }
            Fault::Latency(_) => proxy.break_with(fault),
            _ => {
                proxy.break_with(fault);
                let reports = aws.pump_with(&relay, 100).await;
                assert!(
                    reports.iter().any(|r| r.retry_from.is_some()),
                    "{fault:?}: {reports:?}"
                );
            }
        }
        proxy.heal();
        let reports = aws.pump_with(&relay, 100).await;
        assert!(reports.iter().all(|r| r.retry_from.is_none()), "{fault:?}");
        let (callbacks, dnc, _) = sent_once_by_id(&aws).await;
        assert_eq!((callbacks, dnc), (1, 1), "{fault:?}");
        assert!(proxy.calls() >= 2);
    }
}

/// What DynamoDB Streams may answer the redrive (moto answers none of it): each fault once
/// and then on every call, behind a stream that also answers an empty page first.
const STREAM_FAULTS: [Fault; 7] = [
    Fault::Latency(Duration::from_millis(300)),
    Fault::Reset,
    Fault::Http500,
    Fault::Error("LimitExceededException"),
    Fault::Error("ExpiredIteratorException"),
    Fault::Error("TrimmedDataAccessException"),
    Fault::Invalid,
];

/// The stream's faults on the redrive of a given-up batch: a read short of the batch's last
/// record is never counted done (the message comes back and nothing is sent from it); a
/// batch the stream no longer holds is written down as a gap; once the stream answers,
/// every message of the batch leaves once by id.
#[tokio::test]
async fn stream_faults_on_the_redrive_never_count_a_short_read_done() {
    use call_events::adapters::dynamodb::item::PARKED_PARTITION;
    use support::aws::CLOSED_ENDPOINT;
    for fault in STREAM_FAULTS {
        for always in [false, true] {
            let aws = TestAws::new().await;
            let webhook = aws.handler().await;
            for event in [key_9("+12025550621"), scheduled("+12025550622")] {
                assert_eq!(deliver(&webhook, &event).await.0, 200, "{fault:?}");
            }
            let down = aws.relay_with_sqs_at(CLOSED_ENDPOINT);
            assert!(aws.pump_with(&down, 100).await[0].retry_from.is_some());
            aws.give_up().await;
            let proxy = FaultProxy::start(&moto()).await;
            proxy.empty_first_pages();
            let relay = aws.relay_with_streams_at(&proxy.endpoint);
            match always {
                // The iterator passes; the read meets the fault (after the SDK's retry too).
                false => proxy.inject(&[Fault::Pass, fault, fault]),
                true => proxy.break_with(fault),
            }
            // 2 s to read: the relay keeps 10 s of the invocation to send.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(12);
            let answer = aws.redrive_by(&relay, deadline).await;
            proxy.heal();
            let came_back = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
            let (callbacks, dnc, _) = sent_once_by_id(&aws).await;
            let case = format!("{fault:?}, always: {always}");
            if fault == Fault::Error("TrimmedDataAccessException") {
                assert_eq!(came_back, 0, "{case}: a gap is handled");
                let gaps = aws
                    .all_items()
                    .await
                    .iter()
                    .filter(|i| s(i, "phone").as_deref() == Some(PARKED_PARTITION))
                    .count();
                assert_eq!(gaps, 1, "{case}: written down");
                assert_eq!((callbacks, dnc), (0, 0), "{case}");
                continue;
            }
            if came_back == 0 {
                assert_eq!((callbacks, dnc), (1, 1), "{case}: relayed whole");
                continue;
            }
            assert_eq!(
                (callbacks, dnc),
                (0, 0),
                "{case}: nothing from a short read"
            );
            let answer = aws.redrive(&relay).await;
            assert_eq!(answer["batchItemFailures"], json!([]), "{case}");
            assert_eq!(sent_once_by_id(&aws).await.0, 1, "{case}");
        }
    }
}
