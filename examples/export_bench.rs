//! `call-events-dnc export` on moto, timed: seeds a register of ENTRIES entries (default
//! 5,000, as moto's segmented scan slows with the table's size), each a key 9's signed
//! request written with the register's own codec; runs the release binary over it, checks
//! that every row verified, and prints entries per second and what 10^6 entries of this
//! size cost to read on DynamoDB. `scripts/bench.sh` runs it:
//!
//!   cargo build --release --bin call-events-dnc
//!   cargo run --release --example export_bench -- [ENTRIES]   # AWS_ENDPOINT_URL: moto

use std::process::{Command, ExitCode};
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use call_events::adapters::dynamodb::item::item_size;
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::Timestamp;
use call_events::core::register::{
    DncSignalRecord, RegisterEntry, RequestState, evidence_of_request,
};
use call_events::core::signature::{Secret, sign_v2};
use call_events::core::wire::readable_dnc_signal;
use std::collections::HashMap;

const SECRET: &str = "bench-secret-0123456789abcdef";
/// The on-demand price of a million read request units (us-east-1, since November 2024).
const DOLLARS_PER_MILLION_READS: f64 = 0.125;

type Item = HashMap<String, AttributeValue>;

fn item(i: u32) -> Item {
    let phone = format!("+1202{:07}", 1_000_000 + i);
    let body = format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"abc456xyz","eventTime":"2024-01-28T12:10:00.000Z"}},"data":{{"phone":"{phone}","externalLeadId":"crm-{i}","callType":"inbound","keypressNumber":"9"}}}}"#
    );
    let header = sign_v2(
        &Secret::new(SECRET).expect("long enough"),
        1_706_443_800_000,
        body.as_bytes(),
    );
    let signal = readable_dnc_signal(body.as_bytes(), Timestamp::now()).expect("a key 9");
    let entry = RegisterEntry {
        first: DncSignalRecord::new(&signal, evidence_of_request(Some(&header), body.as_bytes())),
        signed: None,
        signals: 1,
        recent_signal_ids: [signal.source.event_id.as_str().to_owned()].into(),
        request: RequestState::Sent {
            at: "2024-01-28T12:10:01.000Z".into(),
        },
        earlier_request: None,
    };
    register_item(&signal.phone, &entry, 2).expect("an item")
}

async fn write(dynamodb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    let mut writes: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .expect("a put"),
                )
                .build()
        })
        .collect();
    while !writes.is_empty() {
        let left = dynamodb
            .batch_write_item()
            .request_items(table, writes)
            .send()
            .await
            .expect("moto takes the batch")
            .unprocessed_items
            .and_then(|mut left| left.remove(table))
            .unwrap_or_default();
        writes = left;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let entries: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000);
    let binary = "target/release/call-events-dnc";
    if !std::path::Path::new(binary).exists() {
        eprintln!("build it first: cargo build --release --bin call-events-dnc");
        return ExitCode::FAILURE;
    }
    let sdk = call_events::app::sdk_config().await;
    let prefix = format!("export{}", std::process::id());
    let resources = call_events_local::create(&sdk, &prefix)
        .await
        .expect("moto answers");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = resources.dnc_table_name.clone();

    let seeding = Instant::now();
    let mut bytes = 0usize;
    let mut batches = tokio::task::JoinSet::new();
    for start in (0..entries).step_by(25) {
        let items: Vec<Item> = (start..(start + 25).min(entries)).map(item).collect();
        bytes += items.iter().map(item_size).sum::<usize>();
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        batches.spawn(async move { write(&dynamodb, &table, items).await });
        while batches.len() >= 8 {
            batches.join_next().await;
        }
    }
    while batches.join_next().await.is_some() {}
    let average = bytes as f64 / f64::from(entries);
    eprintln!(
        "seeded {entries} entries ({average:.0} B each) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let output = Command::new(binary)
        .args(["export", "--out", "/dev/null"])
        .env("DNC_TABLE_NAME", &table)
        .env("WEBHOOK_SECRET", SECRET)
        .env_remove("WEBHOOK_SECRET_ARN")
        .output()
        .expect("the binary runs");
    let seconds = started.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{entries} entries, {entries} verified");
    if !output.status.success() || !said.contains(&expected) {
        eprintln!("export failed, or not every entry verified:\n{said}");
        return ExitCode::FAILURE;
    }
    // A scan reads 4 KB per unit, an eventually consistent one half a unit, summed over the
    // page: so by the bytes read, not by the item.
    let units = (average * 1e6 / 4096.0).ceil() * 0.5;
    println!(
        "export of {entries} entries on moto: {seconds:.1} s, {:.0} entries/s",
        f64::from(entries) / seconds
    );
    println!(
        "10^6 entries of {average:.0} B on DynamoDB: {:.0} read request units, ${:.3} on demand",
        units,
        units / 1e6 * DOLLARS_PER_MILLION_READS
    );
    ExitCode::SUCCESS
}
