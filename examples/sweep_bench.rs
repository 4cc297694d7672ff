//! The sweep after an SQS outage: ENTRIES phones (default 5,000) pending on the register
//! since before the outage ended, each a key 9's signed request written with the register's
//! own codec; then sweeps run as the schedule runs them, one a minute, each with the relay's
//! 30 s and its reserve, until nothing is pending. Prints each sweep (found, sent, seconds)
//! and by which minute after SQS's return the last request was taken: the contract's
//! promise is 5. With `--imported`, the requests are owed by an import (`import
//! --request`), which the sweep sends at its own pace after the platform's: the promise is
//! the hour 100,000 of them may take (they are due in 10 business days). Two substrates:
//! - `--latency`: the in-memory register and queues, each call answered after the latency
//!   AWS typically has in one region (DynamoDB 8 ms, SQS 20 ms a call), on the real clock:
//!   what the sweep's concurrency makes of AWS's latency.
//! - otherwise moto (AWS_ENDPOINT_URL), which answers a few dozen calls a second on this
//!   machine, whatever the concurrency: what moto allows, not what AWS would.
//!
//! `scripts/bench.sh` runs both:
//!
//!   cargo run --release --example sweep_bench -- [ENTRIES] [--latency] [--imported]

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use call_events::adapters::dynamodb::register::register_item;
use call_events::app::build_relay;
use call_events::config::RelayConfig;
use call_events::core::domain::Timestamp;
use call_events::core::register::{
    DncSignalRecord, RegisterEntry, RequestState, evidence_of_request, import_due,
};
use call_events::core::signature::{Secret, sign_v2};
use call_events::core::wire::readable_dnc_signal;
use call_events::entrypoints::stream::SWEEP_RESERVE;

type Item = HashMap<String, AttributeValue>;

/// The relay's timeout (template.yaml).
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// A phone's entry, pending since `since` (its request decided, SQS down), owed by a
/// platform signal or, `imported`, by an import.
fn item(i: u32, since: &str, imported: bool) -> Item {
    let phone = format!("+1303{:07}", 1_000_000 + i);
    let body = format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"wave","eventTime":"2024-01-28T12:10:00.000Z"}},"data":{{"phone":"{phone}","callType":"inbound","keypressNumber":"9"}}}}"#
    );
    let secret = Secret::new("bench-secret-0123456789abcdef").expect("long enough");
    let header = sign_v2(&secret, 1_706_443_800_000, body.as_bytes());
    let signal = readable_dnc_signal(body.as_bytes(), Timestamp::now()).expect("a key 9");
    let entry = RegisterEntry {
        first: DncSignalRecord::new(&signal, evidence_of_request(Some(&header), body.as_bytes())),
        signed: None,
        signals: 1,
        recent_signal_ids: [signal.source.event_id.as_str().to_owned()].into(),
        request: match imported {
            false => RequestState::Pending {
                since: since.to_owned(),
            },
            true => RequestState::PendingImport {
                since: since.to_owned(),
                due: import_due(Timestamp::now()),
            },
        },
        earlier_request: None,
    };
    register_item(&signal.phone, &entry, 1).expect("an item")
}

async fn write(dynamodb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    let mut writes: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            let put = PutRequest::builder().set_item(Some(item)).build();
            WriteRequest::builder()
                .put_request(put.expect("a put"))
                .build()
        })
        .collect();
    while !writes.is_empty() {
        writes = dynamodb
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .expect("moto takes the batch")
            .unprocessed_items
            .and_then(|mut left| left.remove(table))
            .unwrap_or_default();
    }
}

/// Typical latencies of one call in one region (p50 of the SDK's round trip).
const DYNAMODB_LATENCY: Duration = Duration::from_millis(8);
const SQS_LATENCY: Duration = Duration::from_millis(20);

#[tokio::main]
async fn main() -> ExitCode {
    let entries: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000);
    let imported = std::env::args().any(|a| a == "--imported");
    if std::env::args().any(|a| a == "--latency") {
        return in_memory(entries, imported).await;
    }
    let sdk = call_events::app::sdk_config().await;
    let prefix = format!("sweep{}", std::process::id());
    let resources = call_events_local::create(&sdk, &prefix)
        .await
        .expect("moto answers");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = resources.dnc_table_name.clone();
    // Pending since before the outage ended: well past the sweep's grace.
    let since = Timestamp::now()
        .minus(Duration::from_secs(3600))
        .to_rfc3339();
    let mut batches = tokio::task::JoinSet::new();
    for start in (0..entries).step_by(25) {
        let items: Vec<Item> = (start..(start + 25).min(entries))
            .map(|i| item(i, &since, imported))
            .collect();
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        batches.spawn(async move { write(&dynamodb, &table, items).await });
        while batches.len() >= 8 {
            batches.join_next().await;
        }
    }
    while batches.join_next().await.is_some() {}
    eprintln!("{entries} requests pending on the register");

    // moto checks a FIFO send's deduplication id against every message the queue holds, so
    // its FIFO sends slow down as thousands pile up (SQS's do not): the requests go to a
    // standard queue here, which the relay takes as the contract says (docs/contract.md §5).
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let standard = sqs
        .create_queue()
        .queue_name(format!("{prefix}-dnc-standard"))
        .send()
        .await
        .expect("moto answers")
        .queue_url
        .expect("a queue URL");
    let mut queues = resources.queues.clone();
    queues.dnc = standard;
    let relay = build_relay(
        &RelayConfig {
            table_name: resources.table_name.clone(),
            dnc_table_name: table,
            queues,
        },
        &sdk,
    );
    sweeps(relay.relay(), entries, imported).await
}

/// The same sweeps on the in-memory adapters, with AWS's latency per call.
async fn in_memory(entries: u32, imported: bool) -> ExitCode {
    use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
    use call_events::ports::DncRegisterStore;
    use call_events::usecases::relay::Relay;
    let register = MemoryDncRegister::new();
    let since = Timestamp::now()
        .minus(Duration::from_secs(3600))
        .to_rfc3339();
    for i in 0..entries {
        let item = item(i, &since, imported);
        let phone = item["phone"].as_s().expect("a phone").clone();
        register.put_raw(&phone, item);
    }
    register.set_latency(DYNAMODB_LATENCY);
    let publisher = MemoryPublisher::new();
    publisher.set_latency(SQS_LATENCY);
    let relay = Relay::new(publisher.clone(), register.clone(), MemoryLeadStore::new());
    eprintln!(
        "{entries} requests pending, in memory, DynamoDB {DYNAMODB_LATENCY:?} and SQS \
         {SQS_LATENCY:?} a call"
    );
    let code = sweeps(&relay, entries, imported).await;
    let left = match imported {
        false => register.pending(Timestamp::now(), entries as usize).await,
        true => register.pending_imported(entries as usize).await,
    };
    let left = left.map(|p| p.len()).unwrap_or(usize::MAX);
    println!(
        "{} requests on the queue, {left} still pending",
        publisher.sent().len()
    );
    code
}

/// Sweeps as the schedule runs them, one a minute, until nothing is pending.
async fn sweeps<P, R, K>(
    relay: &call_events::usecases::relay::Relay<P, R, K>,
    entries: u32,
    imported: bool,
) -> ExitCode
where
    P: call_events::ports::MessagePublisher,
    R: call_events::ports::DncRegisterStore,
    K: call_events::ports::ParkingLot + call_events::ports::RelayLedger,
{
    // SQS is back: one sweep a minute, as the schedule invokes them.
    let mut sent = 0;
    // The promise: 5 minutes for the platform's requests; an hour for 100,000 an import
    // owes.
    let (promise, most) = match imported {
        false => (5, 10),
        true => (60, 90),
    };
    for minute in 1..=most {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + RELAY_TIMEOUT - SWEEP_RESERVE;
        let swept = relay.sweep(Timestamp::now(), deadline).await;
        sent += swept.report.counts.dnc_sent;
        println!(
            "sweep {minute}: found {}, sent {}, {:.1} s{}",
            swept.report.pending_found + swept.report.imported_found,
            swept.report.counts.dnc_sent,
            started.elapsed().as_secs_f64(),
            swept
                .stopped
                .map(|why| format!(" (stopped: {why})"))
                .unwrap_or_default()
        );
        let found = swept.report.pending_found + swept.report.imported_found;
        if found == 0 || sent >= entries as usize {
            println!(
                "{sent} of {entries} pending requests taken by SQS by the sweep of minute \
                 {minute} after its return (the promise: within {promise})"
            );
            return match sent >= entries as usize && minute <= promise {
                true => ExitCode::SUCCESS,
                false => ExitCode::FAILURE,
            };
        }
    }
    println!("{sent} of {entries} sent after {most} sweeps");
    ExitCode::FAILURE
}
