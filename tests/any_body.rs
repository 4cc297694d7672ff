//! Whatever an authentic body's bytes (UTF-8 or not, up to the 256 KiB limit), it is
//! answered 2xx at its first delivery while DynamoDB is up, and kept whole
//! (docs/contract.md §2). On the in-memory table, which refuses an item over 400 KB as
//! DynamoDB does; the worst cases are measured against DynamoDB's and SQS's limits
//! (docs/operating.md, "Any body is kept exactly").

mod support;

use std::time::Duration;

use call_events::adapters::dynamodb::item::{MAX_ITEM_BYTES, item_size};
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::core::signature::{Secret, Verifier};
use call_events::entrypoints::http::{MAX_BODY_BYTES, WebhookHandler};
use call_events::telemetry::RequestReport;
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::relay::Relay;
use proptest::prelude::*;
use support::aws::{LOCAL_SECRET, request, signed_bytes};

/// SQS's largest message.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

fn webhook(store: &MemoryLeadStore) -> WebhookHandler<MemoryLeadStore> {
    WebhookHandler::new(
        Verifier::new(vec![Secret::new(LOCAL_SECRET).unwrap()], 300),
        CallEventRecorder::new(store.clone()),
    )
}

async fn deliver(store: &MemoryLeadStore, body: &[u8]) -> (u16, RequestReport) {
    let (response, report) = webhook(store).respond(&request(&signed_bytes(body))).await;
    (response.status().as_u16(), report)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Bodies of every kind: short and long, random bytes, one byte repeated (the costliest to
/// escape or to render as UTF-8), JSON with bytes that are not UTF-8 inside.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        prop::collection::vec(any::<u8>(), 0..=MAX_BODY_BYTES),
        (any::<u8>(), 0..=MAX_BODY_BYTES).prop_map(|(byte, n)| vec![byte; n]),
        (0..=MAX_BODY_BYTES - 400).prop_map(|n| key_9_padded(n, 0xe9)),
    ]
}

/// A valid key 9 whose metadata carries an unknown field of `n` bytes `fill`.
fn key_9_padded(n: usize, fill: u8) -> Vec<u8> {
    let mut body = br#"{"metadata":{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"any","eventTime":"2024-01-28T12:00:00Z","pad":""#.to_vec();
    body.extend(std::iter::repeat_n(fill, n));
    body.extend_from_slice(
        br#""},"data":{"phone":"+12025550990","callType":"inbound","keypressNumber":"9"}}"#,
    );
    body
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_authentic_body_up_to_the_limit_is_answered_2xx_and_kept_whole(body in bodies()) {
        let store = MemoryLeadStore::new();
        let (status, report) = runtime().block_on(deliver(&store, &body));
        prop_assert!((200..300).contains(&status), "{status} {:?}", report.detail);
        prop_assert!(!report.body_cut, "{:?}", report.detail);
    }
}

/// The worst bodies for each form a body is kept in, at the size limit: every item they
/// make fits in DynamoDB, every message in SQS, with room to spare.
#[tokio::test]
async fn the_worst_bodies_at_the_size_limit_fit_every_item_and_message() {
    let worst: Vec<(&str, Vec<u8>)> = vec![
        (
            "control characters (6 bytes each escaped)",
            vec![0x01; MAX_BODY_BYTES],
        ),
        ("quotes (2 bytes each escaped)", vec![b'"'; MAX_BODY_BYTES]),
        ("bytes that are not UTF-8", vec![0xff; MAX_BODY_BYTES]),
        ("plain text", vec![b'a'; MAX_BODY_BYTES]),
        (
            "a key 9 padded with Latin-1",
            key_9_padded(MAX_BODY_BYTES - 400, 0xe9),
        ),
        (
            "a key 9 padded with escapes",
            key_9_padded(MAX_BODY_BYTES - 400, b'\\'),
        ),
    ];
    let mut largest_item = 0;
    let mut largest_message = 0;
    for (what, body) in worst {
        assert!(body.len() <= MAX_BODY_BYTES, "{what}");
        let store = MemoryLeadStore::new();
        let (status, report) = deliver(&store, &body).await;
        assert_eq!(status, 200, "{what}: {:?}", report.detail);
        assert!(!report.body_cut, "{what}: {:?}", report.detail);
        let items = store.items();
        let item = items.iter().map(item_size).max().unwrap_or(0);
        // What the relay makes of it: the register entry, the queue messages.
        let publisher = MemoryPublisher::new();
        let register = MemoryDncRegister::new();
        let relay = Relay::new(publisher.clone(), register.clone(), MemoryLeadStore::new());
        let report = relay
            .relay(&support::changes(&store), support::budget())
            .await;
        assert_eq!(
            (report.counts.parked, report.retry_from),
            (0, None),
            "{what}"
        );
        let entry = register.item("+12025550990").map_or(0, |i| item_size(&i));
        let messages = publisher
            .sent()
            .iter()
            .map(|m| m.body.len())
            .chain(
                publisher
                    .quarantined()
                    .iter()
                    .map(|r| call_events_messages::to_json(r).len()),
            )
            .max()
            .unwrap_or(0);
        println!(
            "{what}: largest item {item} B, register entry {entry} B, largest message {messages} B"
        );
        largest_item = largest_item.max(item).max(entry);
        largest_message = largest_message.max(messages);
    }
    println!(
        "worst case at {MAX_BODY_BYTES} B: item {largest_item} B of {MAX_ITEM_BYTES}, message {largest_message} B of {MAX_MESSAGE_BYTES}"
    );
    assert!(largest_item < MAX_ITEM_BYTES * 95 / 100, "{largest_item}");
    assert!(largest_message < MAX_MESSAGE_BYTES / 2, "{largest_message}");
}

/// Should a body still not fit (here: an item limit far below DynamoDB's, played by a store
/// that refuses the whole body), it is kept cut, with its length and digest, and answered
/// 200: never a 5xx the sender would retry into a broken webhook.
#[tokio::test]
async fn a_body_that_cannot_be_kept_whole_is_kept_cut_and_answered_200() {
    let store = MemoryLeadStore::new();
    let body = vec![b'x'; 2 * MAX_ITEM_BYTES];
    // Past the webhook's own limit, so straight through the use case.
    let recorder = CallEventRecorder::new(store.clone());
    let (_, result) = recorder.receive(&body, Some("t=1,v2=00")).await;
    let receipt = result.unwrap();
    let call_events::usecases::record::Receipt::Quarantined { kept, .. } = receipt else {
        panic!("{receipt:?}");
    };
    assert!(kept.cut);
    let items = store.items();
    assert_eq!(items.len(), 1);
    let record = &items[0]["quarantine"];
    let reason = record.as_m().unwrap()["reason"].as_s().unwrap();
    assert!(
        reason.contains(&format!("{} bytes, sha-256 ", body.len())),
        "{reason}"
    );
}

/// One deadline covers the whole receive path, the quarantine's writes included: a slow
/// DynamoDB ends in the contract's 503, with its log line, never in the function's timeout.
#[tokio::test(start_paused = true)]
async fn a_slow_dynamodb_on_the_quarantine_path_is_answered_503_within_the_deadline() {
    let store = MemoryLeadStore::new();
    store.set_latency(Duration::from_secs(8));
    let started = tokio::time::Instant::now();
    let (status, report) = deliver(&store, b"not json").await;
    assert_eq!(status, 503);
    assert_eq!(report.outcome.as_str(), "backend_unavailable");
    let took = started.elapsed();
    assert!(
        took <= call_events::usecases::record::DEADLINE + Duration::from_millis(10),
        "{took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "inside the function's timeout"
    );
}
