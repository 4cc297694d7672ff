//! No signal waits on the stream alone (docs/contract.md §5), on moto: the webhook's writes
//! that decide messages wait in the lead table's sparse index `byRelayPending` until the
//! relay confirms them; when their stream records never reach the relay (trimmed after an
//! outage longer than 24 hours, a destination that failed: here, the records are simply
//! never handed over), the sweep finds them in the index and relays them late. An idle
//! sweep's reads do not grow with the table.

mod support;

use std::time::Duration;

use call_events::adapters::dynamodb::item::{RELAY_INDEX, RELAY_PENDING, relay_keys};
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::adapters::{
    DynamoDncRegister, DynamoLeadStore, DynamoStreamShards, S3FailureArchive, SqsPublisher,
};
use call_events::core::domain::Timestamp;
use call_events::entrypoints::stream::StreamHandler;
use call_events::usecases::relay::{RECONCILE_GRACE, Relay};
use serde_json::{Value, json};
use support::aws::{TestAws, body_json, deliver, n, s, signed};
use support::body;
use support::fault_proxy::FaultProxy;

const CAMPAIGN: &str = "reconcile";
const DNC_PHONE: &str = "+12025550751";
const AHEAD_PHONE: &str = "+12025550752";
const PAST_PHONE: &str = "+12025550753";

fn event(phone: &str, event_type: &str, data: &str) -> Value {
    signed(&body(
        event_type,
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        phone,
        data,
    ))
}

fn events() -> [Value; 3] {
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

/// A time past the sweep's grace.
fn after_grace() -> Timestamp {
    let later = Timestamp::now().to_unix_parts().0 + RECONCILE_GRACE.as_secs() as i64 + 60;
    Timestamp::from_unix_parts(later, 0).unwrap()
}

fn by() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(25)
}

/// The keys the index holds, read as the sweep reads it (a Query per index key value).
async fn indexed(aws: &TestAws) -> Vec<String> {
    let mut found = Vec::new();
    for shard in relay_keys() {
        let items = aws
            .dynamodb
            .query()
            .table_name(&aws.resources.table_name)
            .index_name(RELAY_INDEX)
            .key_condition_expression("#p = :shard")
            .expression_attribute_names("#p", RELAY_PENDING)
            .expression_attribute_values(
                ":shard",
                aws_sdk_dynamodb::types::AttributeValue::S(shard),
            )
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        found.extend(items.iter().filter_map(|item| s(item, "phone")));
    }
    found.sort();
    found
}

#[tokio::test]
async fn writes_whose_stream_record_never_reaches_the_relay_are_relayed_by_the_sweep() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for event in events() {
        let (status, answer) = deliver(&webhook, &event).await;
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("processed"))
        );
    }
    assert_eq!(indexed(&aws).await, [DNC_PHONE, AHEAD_PHONE, PAST_PHONE]);
    let relay = aws.relay();

    // Within the grace, the records are the stream's to bring.
    let swept = support::finished(relay.relay().sweep(Timestamp::now(), by()).await);
    assert_eq!(swept.waiting_found, 0);

    // They never come: past the grace, the sweep relays the writes.
    let swept = support::finished(relay.relay().sweep(after_grace(), by()).await);
    assert_eq!(swept.waiting_found, 3);
    let counts = swept.counts;
    assert_eq!(
        (
            counts.reconciled,
            counts.dnc_sent,
            counts.callbacks_sent,
            counts.callbacks_past_due
        ),
        (3, 1, 1, 1)
    );
    let register = aws.register_item(DNC_PHONE).await.expect("on the register");
    assert_eq!(s(&register, "requestState").as_deref(), Some("sent"));
    let queues = &aws.resources.queues;
    let (callbacks, dnc) = (
        aws.drain_only(&queues.callback).await,
        aws.drain_only(&queues.dnc).await,
    );
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["phone"], DNC_PHONE);
    assert_eq!(callbacks.len(), 1);
    assert_eq!(body_json(&callbacks[0])["phone"], AHEAD_PHONE);

    // Each write is confirmed: out of the index, its entry and body gone, its version and
    // state as the webhook wrote them (a confirmation never moves the version).
    assert!(indexed(&aws).await.is_empty());
    let lead = aws.item(DNC_PHONE, CAMPAIGN).await.unwrap();
    assert_eq!(n(&lead, "version"), Some(1));
    assert_eq!(s(&lead, "status").as_deref(), Some("dnc"));
    assert!(!lead.contains_key("relayPendingSince") && !lead.contains_key("relayEntry"));
    assert_eq!(lead["relayOutbox"].as_m().map(|m| m.len()), Ok(0));
    assert_eq!(lead["dncBodies"].as_m().map(|m| m.len()), Ok(0));
    let again = support::finished(relay.relay().sweep(after_grace(), by()).await);
    assert_eq!((again.waiting_found, again.counts.reconciled), (0, 0));

    // The records come after all (a stream that was only late): no second request.
    let reports = aws.pump().await;
    let late: usize = reports.iter().map(|r| r.counts.dnc_sent).sum();
    assert_eq!(late, 0, "one request per phone, ever");
    assert!(aws.drain_only(&queues.dnc).await.is_empty());
}

#[tokio::test]
async fn a_write_the_relay_relayed_leaves_the_index_and_the_next_write_carries_nothing() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    deliver(&webhook, &events()[1]).await;
    let reports = aws.pump().await;
    assert_eq!(
        reports
            .iter()
            .map(|r| r.counts.callbacks_sent)
            .sum::<usize>(),
        1
    );
    assert!(indexed(&aws).await.is_empty(), "confirmed by the relay");

    // The same instance writes the lead again: its cached version is stale, so it reads
    // the lead and carries nothing; the relay sends nothing twice.
    let initiated = event(
        AHEAD_PHONE,
        "lead.call_initiated",
        r#""callType":"outbound""#,
    );
    let (status, _) = deliver(&webhook, &initiated).await;
    assert_eq!(status, 200);
    let reports = aws.pump().await;
    assert_eq!(
        reports
            .iter()
            .map(|r| r.counts.callbacks_sent)
            .sum::<usize>(),
        0
    );
    assert!(indexed(&aws).await.is_empty());
    let callbacks = aws.drain_only(&aws.resources.queues.callback).await;
    assert_eq!(callbacks.len(), 1, "the callback, once");
}

#[tokio::test]
async fn an_idle_sweep_reads_the_same_whatever_the_table_holds() {
    let aws = TestAws::new().await;
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh");
    let proxy = FaultProxy::start(&upstream).await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws.sdk)
            .endpoint_url(&proxy.endpoint)
            .build(),
    );
    let relay = StreamHandler::new(
        Relay::new(
            SqsPublisher::new(aws.sqs.clone(), aws.resources.queues.clone()),
            DynamoDncRegister::new(dynamodb.clone(), &aws.resources.dnc_table_name),
            DynamoLeadStore::new(dynamodb, &aws.resources.table_name),
        ),
        DynamoStreamShards::new(aws.streams.clone()),
        S3FailureArchive::new(aws_sdk_s3::Client::new(&aws.sdk)),
        decode_new_image,
    );
    let sweep_operations = || async {
        let before = proxy.operations().len();
        support::finished(relay.relay().sweep(after_grace(), by()).await);
        proxy.operations()[before..].to_vec()
    };
    let empty = sweep_operations().await;

    // 200 leads, each relayed and confirmed: the table grows, the index stays empty.
    let webhook = aws.handler().await;
    for i in 0..200 {
        let phone = format!("+1202555{:04}", 8000 + i);
        let event = event(
            &phone,
            "lead.call_scheduled",
            r#""scheduledTime":"2099-01-30T10:00:00Z""#,
        );
        assert_eq!(deliver(&webhook, &event).await.0, 200);
    }
    aws.pump().await;
    let full = sweep_operations().await;
    assert_eq!(full, empty, "the same reads, whatever the table holds");
    assert!(full.iter().all(|op| op.ends_with(".Query")), "{full:?}");
    assert_eq!(
        full.len(),
        8 + 9 + 8,
        "a query per index key value: the relay's, the register's platform and import keys"
    );
}
