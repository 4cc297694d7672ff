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
        r#""scheduledTime":"2024-01-30T10:00:00Z""#,
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
                assert_eq!(reports.iter().map(|r| r.parked).sum::<usize>(), 1);
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
