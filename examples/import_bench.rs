//! `call-events-dnc import` on moto, timed: writes a list of LINES lines (default
//! 100,000: phone, requestedAt, a note), runs the release binary over it on a fresh
//! register (lines per second, and its peak RSS from /proc), then over a list a tenth the
//! size on another fresh register (the memory must not grow with the file), then the big
//! list again (every line already there), and last writes SAMPLE other phones one
//! conditional PutItem at a time (what a team writing its own import would do) and prints
//! the ratio. `scripts/bench.sh` runs it:
//!
//!   cargo build --release --bin call-events-dnc
//!   cargo run --release --example import_bench -- [LINES] [SAMPLE]   # AWS_ENDPOINT_URL: moto

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

#[path = "support/measure.rs"]
mod measure;

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::{Phone, Timestamp};
use call_events::core::import::{ImportRun, imported_signal, take};

const BINARY: &str = "target/release/call-events-dnc";

fn phone(i: usize) -> String {
    format!("+1202{:07}", 1_000_000 + i)
}

fn list(lines: usize, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("import-bench-{name}-{}.csv", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("a temp file"));
    writeln!(file, "phone,requestedAt,note").expect("written");
    for i in 0..lines {
        writeln!(
            file,
            "{},2024-0{}-1{},\"asked by e-mail, ticket {i}\"",
            phone(i),
            1 + i % 9,
            i % 10
        )
        .expect("written");
    }
    file.flush().expect("written");
    path
}

async fn register(sdk: &aws_config::SdkConfig, name: &str) -> String {
    let prefix = format!("imp{name}{}", std::process::id());
    call_events_local::create(sdk, &prefix)
        .await
        .expect("moto answers")
        .dnc_table_name
}

/// Runs the import; its summary line, seconds and peak RSS (KiB).
fn import(path: &Path, table: &str) -> Result<(String, f64, u64), String> {
    let started = Instant::now();
    let mut command = Command::new(BINARY);
    command
        .args(["import", &path.display().to_string(), "--source", "bench"])
        .env("DNC_TABLE_NAME", table);
    let (output, peak_kib) = measure::run_measured(command);
    let seconds = started.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = said
        .lines()
        .find(|l| l.starts_with("import"))
        .map(str::to_owned)
        .ok_or_else(|| format!("no summary: {said}"))?;
    match output.status.success() {
        true => Ok((summary, seconds, peak_kib)),
        false => Err(said),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let lines = args.next().flatten().unwrap_or(100_000);
    let sample = args.next().flatten().unwrap_or(2_000);
    if !Path::new(BINARY).exists() {
        eprintln!("build it first: cargo build --release --bin call-events-dnc");
        return ExitCode::FAILURE;
    }
    let sdk = call_events::app::sdk_config().await;
    let big = list(lines, "big");
    let small = list(lines / 10, "small");
    let size = std::fs::metadata(&big).map(|m| m.len()).unwrap_or(0);

    let table = register(&sdk, "a").await;
    let (summary, seconds, peak) = match import(&big, &table) {
        Ok(done) => done,
        Err(said) => {
            eprintln!("the import failed: {said}");
            return ExitCode::FAILURE;
        }
    };
    if !summary.contains(&format!("{lines} added")) {
        eprintln!("the import did not add every line: {summary}");
        return ExitCode::FAILURE;
    }
    let rate = lines as f64 / seconds;
    println!(
        "import: {lines} lines ({:.1} MiB) onto an empty register: {seconds:.1} s, {rate:.0} lines/s, peak RSS {:.1} MiB",
        size as f64 / 1_048_576.0,
        peak as f64 / 1024.0
    );
    let other = register(&sdk, "b").await;
    match import(&small, &other) {
        Ok((_, seconds, peak)) => println!(
            "import: {} lines onto an empty register: {seconds:.1} s, peak RSS {:.1} MiB",
            lines / 10,
            peak as f64 / 1024.0
        ),
        Err(said) => {
            eprintln!("the small import failed: {said}");
            return ExitCode::FAILURE;
        }
    }
    match import(&big, &table) {
        Ok((summary, seconds, _))
            if summary.contains(&format!("0 added, {lines} already there")) =>
        {
            println!(
                "import again: {lines} lines, every one already there: {seconds:.1} s, {:.0} lines/s, nothing written",
                lines as f64 / seconds
            )
        }
        Ok((summary, ..)) => {
            eprintln!("the second import changed something: {summary}");
            return ExitCode::FAILURE;
        }
        Err(said) => {
            eprintln!("the second import failed: {said}");
            return ExitCode::FAILURE;
        }
    }

    // The same work by hand, one phone at a time: the same entries (the core's rule), each
    // a consistent GetItem and a conditional PutItem.
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let run = ImportRun {
        source: "bench".into(),
        file_sha256: "0".repeat(64),
        imported_at: Timestamp::now(),
    };
    let started = Instant::now();
    for i in 0..sample {
        let Ok(phone) = Phone::parse(&phone(lines + i)) else {
            return ExitCode::FAILURE;
        };
        let held = dynamodb
            .get_item()
            .table_name(&other)
            .key("phone", AttributeValue::S(phone.as_str().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("moto answers");
        let line = format!("{},2024-01-26,by hand", phone.as_str());
        let signal = imported_signal(&run, phone.clone(), None, 2, line);
        let (_, entry) = take(None, &signal, run.imported_at, false);
        let item = register_item(&phone, &entry, 1).expect("an item");
        dynamodb
            .put_item()
            .table_name(&other)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(phone)")
            .send()
            .await
            .expect("moto answers");
        assert!(held.item.is_none());
    }
    let loop_rate = sample as f64 / started.elapsed().as_secs_f64();
    println!(
        "by hand, one GetItem and one conditional PutItem per phone, same entries, same moto, \
         {sample} phones: {loop_rate:.0} lines/s; the import (BatchGetItems of 100, one \
         versioned PutItem per phone, 32 at once) is {:.1}x faster",
        rate / loop_rate
    );
    let _ = std::fs::remove_file(&big);
    let _ = std::fs::remove_file(&small);
    ExitCode::SUCCESS
}
