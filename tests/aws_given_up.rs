//! Lambda's give-up, played on moto (docs/contract.md §5): SQS refuses the relay for longer
//! than the record age, Lambda drops the failing batch and writes only where it was to the
//! relay failure queue, SQS comes back. With no delivery from the sender, the phone's
//! `dnc.requested` (the sweep, or the redrive) and the callback (the redrive) arrive, each
//! once by id; a later DNC signal of the phone sends nothing more. A batch the stream no
//! longer holds is written down for the operator.

mod support;

use std::collections::BTreeMap;

use call_events::adapters::dynamodb::item::{PARKED_PARTITION, RELAY_SHARDS};
use call_events::core::domain::Timestamp;
use call_events::usecases::relay::SWEEP_GRACE;
use serde_json::{Value, json};
use support::aws::{CLOSED_ENDPOINT, TestAws, body_json, deliver, s, signed};
use support::body;
use support::fault_proxy::{Fault, FaultProxy};

const DNC_PHONE: &str = "+12025550701";
const CALLBACK_PHONE: &str = "+12025550702";

fn key_9(minute: u32) -> Value {
    signed(&body(
        "lead.call_key_pressed",
        "given-up",
        &format!("2024-01-28T12:{minute:02}:00Z"),
        DNC_PHONE,
        r#""callType":"inbound","keypressNumber":"9""#,
    ))
}

fn scheduled() -> Value {
    signed(&body(
        "lead.call_scheduled",
        "given-up",
        "2024-01-28T12:01:00Z",
        CALLBACK_PHONE,
        r#""scheduledTime":"2099-01-30T10:00:00Z""#,
    ))
}

/// Message ids on the callback and DNC queues, each with how often it came.
async fn ids(aws: &TestAws) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let count = |messages: Vec<aws_sdk_sqs::types::Message>| {
        let mut ids = BTreeMap::new();
        for m in messages {
            *ids.entry(body_json(&m)["id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        ids
    };
    let callbacks = aws.drain_only(&aws.resources.queues.callback).await;
    let dnc = aws.drain_only(&aws.resources.queues.dnc).await;
    (count(callbacks), count(dnc))
}

/// Both events delivered, then relayed while SQS refuses (the batch is retried, in
/// order), then given up by Lambda.
async fn given_up_while_sqs_is_down(aws: &TestAws) {
    let webhook = aws.handler().await;
    for event in [key_9(0), scheduled()] {
        let (status, answer) = deliver(&webhook, &event).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("processed"))
        );
    }
    let down = aws.relay_with_sqs_at(CLOSED_ENDPOINT);
    for _ in 0..3 {
        let reports = aws.pump_with(&down, 10).await;
        assert!(reports[0].retry_from.is_some(), "SQS down: retried");
    }
    let register = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&register, "requestState").as_deref(), Some("pending"));
    aws.give_up().await;
    assert!(aws.new_stream_records().await.is_empty(), "Lambda moved on");
}

#[tokio::test]
async fn sqs_down_longer_than_the_record_age_then_back_loses_nothing() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let relay = aws.relay();
    // The sweep, a minute on: the DNC request leaves without the stream.
    let now = Timestamp::now().to_unix_parts().0;
    let a_minute_on =
        Timestamp::from_unix_parts(now + SWEEP_GRACE.as_secs() as i64 + 1, 0).unwrap();
    let swept = support::finished(relay.relay().sweep(a_minute_on, support::budget()).await);
    assert_eq!((swept.pending_found, swept.counts.dnc_sent), (1, 1));
    let register = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&register, "requestState").as_deref(), Some("sent"));
    assert!(s(&register, "requestSentAt").is_some());
    assert!(
        !register.contains_key("pendingRequest"),
        "out of the sweep's index"
    );
    // The redrive: the given-up batch relayed again, whole.
    let answer = aws.redrive(&relay).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!(callbacks.len(), 1, "the callback arrived: {callbacks:?}");
    assert_eq!(dnc.len(), 1, "{dnc:?}");
    assert!(
        callbacks.values().chain(dnc.values()).all(|&n| n == 1),
        "once by id"
    );
    // Nothing left to redrive; a later DNC signal of the phone sends nothing more.
    assert_eq!(aws.redrive(&relay).await["batchItemFailures"], json!([]));
    let webhook = aws.handler().await;
    deliver(&webhook, &key_9(5)).await;
    aws.pump().await;
    let (callbacks, dnc) = ids(&aws).await;
    assert!(
        callbacks.is_empty() && dnc.is_empty(),
        "{callbacks:?} {dnc:?}"
    );
}

#[tokio::test]
async fn the_redrive_alone_sends_the_dnc_request_and_the_callback_once() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let relay = aws.relay();
    let answer = aws.redrive(&relay).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!((callbacks.len(), dnc.len()), (1, 1));
    let register = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&register, "requestState").as_deref(), Some("sent"));
    // The sweep finds nothing pending.
    let later = Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 3600, 0).unwrap();
    let swept = support::finished(relay.relay().sweep(later, support::budget()).await);
    assert_eq!((swept.pending_found, swept.counts.dnc_sent), (0, 0));
}

/// DynamoDB Streams may answer pages with no records before the records (moto never does: a
/// proxy in front of its streams endpoint plays it). The redrive reads through them.
#[tokio::test]
async fn a_redrive_reads_through_empty_pages_to_the_batchs_records() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    proxy.empty_first_pages();
    let relay = aws.relay_with_streams_at(&proxy.endpoint);
    let answer = aws.redrive(&relay).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(
        proxy.empty_pages(),
        1,
        "the stream answered an empty page first"
    );
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!((callbacks.len(), dnc.len()), (1, 1), "every record relayed");
}

/// An iterator that expired (DynamoDB Streams keeps them 15 minutes) is renewed from the
/// last record read; a throttled read is tried again.
#[tokio::test]
async fn a_redrive_renews_an_expired_iterator_and_waits_out_throttling() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    // GetShardIterator passes; GetRecords: expired, then throttled (the SDK tries twice).
    proxy.inject(&[
        Fault::Pass,
        Fault::Error("ExpiredIteratorException"),
        Fault::Error("LimitExceededException"),
        Fault::Error("LimitExceededException"),
    ]);
    let relay = aws.relay_with_streams_at(&proxy.endpoint);
    let answer = aws.redrive(&relay).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!((callbacks.len(), dnc.len()), (1, 1));
}

/// A read that cannot reach the batch's last record in its time is never counted done:
/// the on-failure message comes back, and is relayed once the stream answers.
#[tokio::test]
async fn a_redrive_that_cannot_read_to_the_batchs_end_comes_back_until_it_can() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    proxy.break_with(Fault::Error("LimitExceededException"));
    let relay = aws.relay_with_streams_at(&proxy.endpoint);
    // 2 s to read (the relay keeps 10 s of the invocation to send what it read).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(12);
    let answer = aws.redrive_by(&relay, deadline).await;
    assert_eq!(
        answer["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    assert_eq!(ids(&aws).await, (BTreeMap::new(), BTreeMap::new()));
    proxy.heal();
    let answer = aws.redrive(&relay).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!((callbacks.len(), dnc.len()), (1, 1));
}

#[tokio::test]
async fn a_redrive_while_sqs_is_still_down_comes_back_later() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    let down = aws.relay_with_sqs_at(CLOSED_ENDPOINT);
    let answer = aws.redrive(&down).await;
    assert_eq!(
        answer["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{answer}"
    );
    // Still on the queue: SQS back, the next redrive relays it.
    let answer = aws.redrive(&aws.relay()).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let (callbacks, dnc) = ids(&aws).await;
    assert_eq!((callbacks.len(), dnc.len()), (1, 1));
}

#[tokio::test]
async fn a_batch_the_stream_no_longer_holds_is_written_down_for_the_operator() {
    let aws = TestAws::new().await;
    given_up_while_sqs_is_down(&aws).await;
    // The stream no longer holds it. moto cannot trim a stream (AWS answers
    // TrimmedDataAccessException), so here the stream itself is gone
    // (ResourceNotFoundException, as after the table was replaced): both are a gap.
    let record = aws
        .sqs
        .receive_message()
        .queue_url(&aws.resources.relay_failures)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap()
        .remove(0);
    aws.sqs
        .delete_message()
        .queue_url(&aws.resources.relay_failures)
        .receipt_handle(record.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let mut lost: Value = serde_json::from_str(record.body().unwrap()).unwrap();
    let gone = aws
        .resources
        .stream_arn
        .replace(&aws.resources.table_name, "replaced-table");
    lost["DDBStreamBatchInfo"]["streamArn"] = json!(gone);
    aws.sqs
        .send_message()
        .queue_url(&aws.resources.relay_failures)
        .message_body(lost.to_string())
        .send()
        .await
        .unwrap();
    let answer = aws.redrive(&aws.relay()).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "handled: written down"
    );
    let gaps: Vec<_> = aws
        .all_items()
        .await
        .into_iter()
        .filter(|item| s(item, "phone").as_deref() == Some(PARKED_PARTITION))
        .collect();
    assert_eq!(gaps.len(), 1);
    let gap = &gaps[0];
    assert_eq!(s(gap, "kind").as_deref(), Some("stream-gap"));
    let known: Value = serde_json::from_str(&s(gap, "body").unwrap()).unwrap();
    assert_eq!(known["streamArn"], json!(gone));
    assert_eq!(known["shardId"], lost["DDBStreamBatchInfo"]["shardId"]);
    assert_eq!(
        known["startSequenceNumber"],
        lost["DDBStreamBatchInfo"]["startSequenceNumber"]
    );
    assert_eq!(
        known["approximateArrivalOfFirstRecord"],
        "2026-11-26T00:00:00Z"
    );
    assert!(s(gap, "reason").unwrap().contains("no longer held"));
    // The DNC request of the lost batch is not lost: it was registered, and is pending.
    let register = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&register, "requestState").as_deref(), Some("pending"));
}

/// The sweep reads the register's sparse index of pending requests, never the register:
/// its calls do not grow with the register (what BENCHMARKS.md prices).
#[tokio::test]
async fn a_sweep_costs_one_query_plus_a_read_and_a_write_per_pending_request_whatever_the_register_size()
 {
    use call_events::adapters::SqsPublisher;
    use call_events::adapters::dynamodb::register::{PENDING_SHARDS, register_item};
    use call_events::adapters::{DynamoDncRegister, DynamoLeadStore};
    use call_events::core::domain::Phone;
    use call_events::core::register::{
        DncReason, DncSignalRecord, DncSource, Evidence, RegisterEntry, RequestState, StoredSignal,
    };
    use call_events::usecases::relay::Relay;

    const SENT: usize = 1000;
    const PENDING: usize = 3;
    let aws = TestAws::new().await;
    let entry = |phone: &str, request: RequestState| {
        let signal = DncSignalRecord::try_from(StoredSignal {
            phone: phone.to_owned(),
            campaign_id: Some("spring".into()),
            external_lead_id: None,
            reason: DncReason::Keypress9,
            at: "2024-01-28T12:00:00.000000000Z".into(),
            source: DncSource {
                event_type: DncReason::Keypress9.event_type(),
                event_time: "2024-01-28T12:00:00.000Z".into(),
                event_id: format!("evt_{phone}"),
            },
            evidence: Evidence {
                received_at: "2024-01-28T12:00:01.000Z".into(),
                signature_header: "t=1,v2=00".into(),
                body: "{}".into(),
                body_base64: None,
            }
            .into(),
        })
        .unwrap();
        let entry = RegisterEntry {
            first: signal,
            signed: None,
            signals: 1,
            recent_signal_ids: [format!("evt_{phone}")].into(),
            request,
            earlier_request: None,
        };
        register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap()
    };
    let mut items = Vec::new();
    for i in 0..SENT {
        let sent = RequestState::Sent {
            at: "2024-01-28T12:00:02.000Z".into(),
        };
        items.push(entry(&format!("+1202600{i:04}"), sent));
    }
    for i in 0..PENDING {
        let pending = RequestState::Pending {
            since: "2024-01-28T12:00:01.000Z".into(),
        };
        items.push(entry(&format!("+1202700{i:04}"), pending));
    }
    support::register::put_register_items(&aws, &items).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.endpoint);
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(conf.build());
    let relay = Relay::new(
        SqsPublisher::new(aws.sqs.clone(), aws.resources.queues.clone()),
        DynamoDncRegister::new(dynamodb.clone(), &aws.resources.dnc_table_name),
        DynamoLeadStore::new(dynamodb, &aws.resources.table_name),
    );
    let swept = support::finished(relay.sweep(Timestamp::now(), support::budget()).await);
    assert_eq!(
        (swept.pending_found, swept.counts.dnc_sent),
        (PENDING, PENDING)
    );
    let calls = proxy.calls();
    // The register's pending index, the lead table's index of writes waiting for the
    // relay (empty here), then the register's keys of what imports owe (empty too).
    let queries = PENDING_SHARDS as usize + 1 + RELAY_SHARDS as usize + PENDING_SHARDS as usize;
    assert_eq!(
        calls,
        queries + 2 * PENDING,
        "one Query per index key, then a GetItem and an UpdateItem each"
    );
    let idle = support::finished(relay.sweep(Timestamp::now(), support::budget()).await);
    assert_eq!(idle.pending_found, 0);
    assert_eq!(
        proxy.calls() - calls,
        queries,
        "an idle sweep is one Query per index key"
    );
    println!(
        "sweep over a register of {} entries: {calls} DynamoDB calls with {PENDING} pending, {queries} when idle",
        SENT + PENDING
    );
    let (_, dnc) = ids(&aws).await;
    assert_eq!(dnc.len(), PENDING);
}

/// A register entry as the first release wrote it: every signal id, `requestedBy`, no
/// request state and no key of the pending index.
fn first_release_entry(phone: &str) -> support::aws::Item {
    use call_events::adapters::dynamodb::register::register_item;
    use call_events::core::domain::Phone;
    use call_events::core::register::{
        DncReason, DncSignalRecord, DncSource, Evidence, RegisterEntry, RequestState, StoredSignal,
    };
    let signal = DncSignalRecord::try_from(StoredSignal {
        phone: phone.to_owned(),
        campaign_id: Some("spring".into()),
        external_lead_id: None,
        reason: DncReason::Keypress9,
        at: "2024-01-28T12:00:00.000000000Z".into(),
        source: DncSource {
            event_type: DncReason::Keypress9.event_type(),
            event_time: "2024-01-28T12:00:00.000Z".into(),
            event_id: "evt_first_release".into(),
        },
        evidence: Evidence {
            received_at: "2024-01-28T12:00:01.000Z".into(),
            signature_header: "t=1,v2=00".into(),
            body: "{}".into(),
            body_base64: None,
        }
        .into(),
    })
    .unwrap();
    let entry = RegisterEntry {
        first: signal,
        signed: None,
        signals: 1,
        recent_signal_ids: ["evt_first_release".to_owned()].into(),
        request: RequestState::Pending {
            since: "2024-01-28T12:00:01.000Z".into(),
        },
        earlier_request: None,
    };
    let mut item = register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap();
    for name in [
        "requestState",
        "pendingRequest",
        "pendingSince",
        "recentSignalIds",
    ] {
        item.remove(name);
    }
    use aws_sdk_dynamodb::types::AttributeValue;
    item.insert(
        "signalIds".into(),
        AttributeValue::L(vec![AttributeValue::S("evt_first_release".into())]),
    );
    item.insert(
        "requestedBy".into(),
        AttributeValue::S("evt_first_release".into()),
    );
    item
}

/// The sweep reads only the pending index, which entries of the first release are not in:
/// the upgrade's one-off backfill puts them there (docs/deploy.md, "Upgrading"), and is
/// idempotent.
#[tokio::test]
async fn entries_of_the_first_release_reach_the_sweep_after_one_idempotent_backfill() {
    use call_events::adapters::DynamoDncRegister;
    const OLD: &str = "+12025550720";
    let aws = TestAws::new().await;
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.dnc_table_name)
        .set_item(Some(first_release_entry(OLD)))
        .send()
        .await
        .unwrap();
    let relay = aws.relay();
    let later = Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 3600, 0).unwrap();
    let unseen = support::finished(relay.relay().sweep(later, support::budget()).await);
    assert_eq!(
        unseen.pending_found, 0,
        "out of the index: the sweep cannot see it"
    );

    let register = DynamoDncRegister::new(aws.dynamodb.clone(), &aws.resources.dnc_table_name);
    let done = register
        .backfill_pending(Timestamp::now(), |_| {})
        .await
        .unwrap();
    assert_eq!((done.found, done.indexed), (1, 1));
    let item = aws.register_item(OLD).await.unwrap();
    assert_eq!(s(&item, "requestState").as_deref(), Some("pending"));
    assert!(s(&item, "pendingRequest").unwrap().starts_with("pending#"));
    // Pending since the backfill, not since the signal of 2024: the resend is what waits.
    let since = Timestamp::parse(&s(&item, "pendingSince").unwrap()).unwrap();
    assert!(since.to_unix_parts().0 >= Timestamp::now().to_unix_parts().0 - 60);
    assert!(
        s(&item, "earlierRequest")
            .unwrap()
            .contains("first release")
    );
    assert_eq!(support::aws::n(&item, "version"), Some(2), "bumped");

    // Again, as the operator's command: nothing left to do.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
        .arg("backfill-pending")
        .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("0 entries pending out of the index"),
        "{said}"
    );

    // The first sweep after the upgrade: it sends the request again, and does not page
    // (DncRequestsPendingAlarm: 300 s and more), since it waited only from the backfill.
    let first_sweep =
        Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 90, 0).unwrap();
    let swept = support::finished(relay.relay().sweep(first_sweep, support::budget()).await);
    assert_eq!((swept.pending_found, swept.counts.dnc_sent), (1, 1));
    assert!(swept.oldest_pending_seconds.unwrap() < 300, "{swept:?}");
    let item = aws.register_item(OLD).await.unwrap();
    assert_eq!(s(&item, "requestState").as_deref(), Some("sent"));
    let (_, dnc) = ids(&aws).await;
    assert_eq!(dnc.len(), 1);

    // Its proof says who sent the first request, and counts no business days from a resend.
    let prove = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
            .arg("prove")
            .args(args)
            .env("TABLE_NAME", &aws.resources.table_name)
            .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
            .env("WEBHOOK_SECRET", support::aws::LOCAL_SECRET)
            .env_remove("WEBHOOK_SECRET_ARN")
            .output()
            .unwrap()
    };
    let output = prove(&[OLD]);
    let report = String::from_utf8_lossy(&output.stdout);
    // No send is claimed that nothing recorded: the days run to the send the sweep
    // recorded after the backfill.
    assert!(
        report.contains("no send recorded by the first release"),
        "{report}"
    );
    assert!(report.contains("first recorded: sent"), "{report}");
    let output = prove(&[OLD, "--json"]);
    let proof: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(proof["businessDaysToRequest"].is_u64(), "{proof}");
    assert!(
        proof["earlierRequest"]
            .as_str()
            .unwrap()
            .contains("first release")
    );
}

/// On DynamoDB itself: an entry the sweep cannot read (its `version` is not even a number)
/// is parked once and taken out of the index; the sweeps after it find nothing.
#[tokio::test]
async fn a_register_entry_the_sweep_cannot_read_is_parked_once_and_leaves_the_index() {
    use aws_sdk_dynamodb::types::AttributeValue;
    const DAMAGED: &str = "+12025550730";
    let aws = TestAws::new().await;
    let damaged = std::collections::HashMap::from([
        ("phone".to_owned(), AttributeValue::S(DAMAGED.into())),
        (
            "pendingRequest".to_owned(),
            AttributeValue::S("pending#3".into()),
        ),
        (
            "pendingSince".to_owned(),
            AttributeValue::S("2024-01-01T00:00:00.000Z".into()),
        ),
        ("reason".to_owned(), AttributeValue::N("7".into())),
        ("version".to_owned(), AttributeValue::S("seven".into())),
    ]);
    aws.dynamodb
        .put_item()
        .table_name(&aws.resources.dnc_table_name)
        .set_item(Some(damaged))
        .send()
        .await
        .unwrap();
    let relay = aws.relay();
    let later = Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 3600, 0).unwrap();
    let first = support::finished(relay.relay().sweep(later, support::budget()).await);
    assert_eq!(
        (
            first.pending_found,
            first.counts.parked,
            first.counts.unreadable
        ),
        (1, 1, 1)
    );
    for _ in 0..3 {
        let again = support::finished(relay.relay().sweep(later, support::budget()).await);
        assert_eq!((again.pending_found, again.counts.parked), (0, 0));
    }
    let item = aws.register_item(DAMAGED).await.unwrap();
    assert_eq!(s(&item, "requestState").as_deref(), Some("refused"));
    assert!(s(&item, "requestRefused").unwrap().contains("unreadable"));
    assert!(!item.contains_key("pendingRequest"));
    let parked = aws.drain_only(&aws.resources.queues.quarantine).await;
    assert_eq!(parked.len(), 1, "parked once");
}

/// "Register it by hand" (docs/operating.md, `RelayParkedAlarm`) is one command: a parked
/// record's image, once fixed, goes to the register and its phone's request is sent; run
/// again, it changes nothing.
#[tokio::test]
async fn a_parked_records_signal_is_registered_by_one_command_once() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let (status, _) = deliver(&webhook, &key_9(0)).await;
    assert_eq!(status, 200);
    // The write's new image, as the relay parks an unreadable record (here readable: as a
    // person leaves it once the reason is fixed).
    let image = aws.item(DNC_PHONE, "given-up").await.unwrap();
    let image = serde_json::to_string(&serde_dynamo::Item::from(image)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("parked.json");
    std::fs::write(&file, image).unwrap();
    let run = || {
        let queues = &aws.resources.queues;
        std::process::Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
            .arg("register-parked")
            .arg(&file)
            .env("TABLE_NAME", &aws.resources.table_name)
            .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
            .env("CALLBACK_QUEUE_URL", &queues.callback)
            .env("DNC_QUEUE_URL", &queues.dnc)
            .env("QUARANTINE_QUEUE_URL", &queues.quarantine)
            .output()
            .unwrap()
    };
    let first = run();
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        said.contains("1 signal(s) on the register, 1 DNC request(s) sent"),
        "{said}"
    );
    let entry = aws.register_item(DNC_PHONE).await.unwrap();
    assert_eq!(s(&entry, "requestState").as_deref(), Some("sent"));
    let again = run();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("0 DNC request(s) sent"), "{said}");
    let (_, dnc) = ids(&aws).await;
    assert_eq!(dnc.len(), 1, "one request, ever");
}
