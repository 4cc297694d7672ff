//! `call-events-dnc scrub` on moto, timed: seeds a register with every tenth phone of a
//! dial list of ROWS rows (default 100,000), runs the release binary over the list (rows
//! per second, and its peak RSS from /proc), then asks the register one GetItem per phone
//! for SAMPLE of the same phones (what a team writing its own check would do) and prints the
//! ratio. `scripts/bench.sh` runs it:
//!
//!   cargo build --release --bin call-events-dnc
//!   cargo run --release --example scrub_bench -- [ROWS] [SAMPLE]   # AWS_ENDPOINT_URL: moto

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Instant;

#[path = "support/measure.rs"]
mod measure;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

type Item = HashMap<String, AttributeValue>;

fn phone(i: usize) -> String {
    format!("+1202{:07}", 1_000_000 + i)
}

async fn seed(dynamodb: &aws_sdk_dynamodb::Client, table: &str, phones: Vec<String>) {
    let mut batches = tokio::task::JoinSet::new();
    for chunk in phones.chunks(25) {
        let mut writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|p| {
                let item: Item = HashMap::from([
                    ("phone".to_owned(), AttributeValue::S(p.clone())),
                    (
                        "dncAt".to_owned(),
                        AttributeValue::S("2024-01-26T12:00:00.000Z".into()),
                    ),
                    ("reason".to_owned(), AttributeValue::S("keypress_9".into())),
                ]);
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
        let (dynamodb, table) = (dynamodb.clone(), table.to_owned());
        batches.spawn(async move {
            while !writes.is_empty() {
                writes = dynamodb
                    .batch_write_item()
                    .request_items(&table, writes)
                    .send()
                    .await
                    .expect("moto takes the batch")
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&table))
                    .unwrap_or_default();
            }
        });
        while batches.len() >= 8 {
            batches.join_next().await;
        }
    }
    while batches.join_next().await.is_some() {}
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let rows = args.next().flatten().unwrap_or(100_000);
    let sample = args.next().flatten().unwrap_or(2_000).min(rows);
    let binary = "target/release/call-events-dnc";
    if !std::path::Path::new(binary).exists() {
        eprintln!("build it first: cargo build --release --bin call-events-dnc");
        return ExitCode::FAILURE;
    }
    let sdk = call_events::app::sdk_config().await;
    let prefix = format!("scrub{}", std::process::id());
    let resources = call_events_local::create(&sdk, &prefix)
        .await
        .expect("moto answers");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = resources.dnc_table_name.clone();
    let listed: Vec<String> = (0..rows).step_by(10).map(phone).collect();
    let seeding = Instant::now();
    seed(&dynamodb, &table, listed.clone()).await;
    eprintln!(
        "seeded {} register entries in {:.1} s",
        listed.len(),
        seeding.elapsed().as_secs_f64()
    );

    let path = std::env::temp_dir().join(format!("scrub-bench-{}.csv", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("a temp file"));
    writeln!(file, "id,name,phone,campaign").expect("written");
    for i in 0..rows {
        writeln!(file, "{i},\"Lead {i}, Jr.\",{},spring", phone(i)).expect("written");
    }
    file.flush().expect("written");
    drop(file);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let started = Instant::now();
    let mut command = Command::new(binary);
    command
        .args(["scrub", &path.display().to_string(), "--out", "/dev/null"])
        .env("DNC_TABLE_NAME", &table);
    let (output, peak_kib) = measure::run_measured(command);
    let seconds = started.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{rows} rows: {} kept, {} removed",
        rows - listed.len(),
        listed.len()
    );
    if !output.status.success() || !said.contains(&expected) {
        eprintln!("the scrub did not do what it should ({expected}): {said}");
        return ExitCode::FAILURE;
    }
    let scrub_rate = rows as f64 / seconds;

    // The same question, one GetItem per phone.
    let started = Instant::now();
    let mut found = 0;
    for i in 0..sample {
        let item = dynamodb
            .get_item()
            .table_name(&table)
            .key("phone", AttributeValue::S(phone(i)))
            .consistent_read(true)
            .send()
            .await
            .expect("moto answers")
            .item;
        found += usize::from(item.is_some());
    }
    let loop_rate = sample as f64 / started.elapsed().as_secs_f64();
    println!(
        "scrub: {rows} rows ({:.1} MiB), {} on the register: {seconds:.1} s, {scrub_rate:.0} rows/s, \
         peak RSS {:.1} MiB",
        size as f64 / 1_048_576.0,
        listed.len(),
        peak_kib as f64 / 1024.0
    );
    println!(
        "one GetItem per phone, same moto, {sample} phones ({found} on the register): \
         {loop_rate:.0} rows/s; the scrub is {:.1}x faster",
        scrub_rate / loop_rate
    );
    let _ = std::fs::remove_file(&path);
    ExitCode::SUCCESS
}
