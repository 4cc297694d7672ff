//! `call-events-dnc export`: every register entry with its verdict, as JSON Lines or CSV
//! (docs/contract.md §8). Reads only, by a parallel scan.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use call_events::adapters::DynamoDncRegister;
use call_events::adapters::output_file::Output;
use call_events::core::proof::ExportRow;
use call_events::core::spreadsheet::inert;
use call_events::telemetry::error_chain;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Format;
use crate::operator::{could_not, prover};

/// Where export writes its rows: a file is written beside its target and renamed over it
/// only once every entry is in it.
enum Rows {
    Jsonl(Output),
    Csv(Box<csv::Writer<Output>>),
}

impl Rows {
    fn new(format: Format, out: Output) -> std::io::Result<Self> {
        Ok(match format {
            Format::Jsonl => Self::Jsonl(out),
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(ExportRow::COLUMNS)?;
                Self::Csv(Box::new(writer))
            }
        })
    }

    fn write(&mut self, row: &ExportRow) -> std::io::Result<()> {
        match self {
            Self::Jsonl(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")
            }
            // No cell runs as a formula in a spreadsheet (a campaign id, a problem).
            Self::Csv(writer) => {
                let cells = row.cells();
                let cells = cells.iter().map(|c| inert(c)).collect::<Vec<_>>();
                Ok(writer.write_record(cells.iter().map(|c| c.as_bytes()))?)
            }
        }
    }

    /// Every row written: the file renamed over its target, or stdout flushed.
    fn finish(self) -> Result<(), String> {
        match self {
            Self::Jsonl(out) => out.commit(),
            Self::Csv(writer) => writer
                .into_inner()
                .map_err(|e| format!("cannot write: {}", e.error()))?
                .commit(),
        }
    }
}

pub async fn export(format: Format, out: Option<&Path>, segments: u32) -> ExitCode {
    let started = Instant::now();
    let (config, sdk, verifier) = match prover("export").await {
        Ok(prover) => prover,
        Err(code) => return code,
    };
    let sink = match Output::to(out) {
        Ok(sink) => sink,
        Err(e) => return could_not("export", e),
    };
    let mut rows = match Rows::new(format, sink) {
        Ok(rows) => rows,
        Err(e) => return could_not("export", e),
    };
    let register =
        DynamoDncRegister::new(aws_sdk_dynamodb::Client::new(&sdk), &config.dnc_table_name);
    let bar = match register.approximate_entries().await {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let style =
        "{bar:30} {pos}/{len} entries  {per_sec}  ETA {eta}  (the total is DynamoDB's last count)";
    if let Ok(style) = ProgressStyle::with_template(style) {
        bar.set_style(style);
    }
    let (pages, mut received) = tokio::sync::mpsc::channel(8);
    let scan = tokio::spawn(async move { register.scan_all(segments, pages).await });
    let (mut written, mut verified) = (0u64, 0u64);
    while let Some(page) = received.recv().await {
        for (phone, entry) in page {
            let row = ExportRow::of(phone, entry, &verifier);
            if let Err(e) = rows.write(&row) {
                bar.abandon();
                return could_not("export", format!("cannot write: {e}"));
            }
            written += 1;
            verified += u64::from(row.verified);
            bar.inc(1);
        }
    }
    let scanned = scan.await;
    bar.finish_and_clear();
    let failed = match scanned {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(error_chain(&e)),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failed {
        let left = match out {
            Some(path) => format!("{} left as it was", path.display()),
            None => "the output is incomplete".to_owned(),
        };
        return could_not(
            "export",
            format!("stopped after {written} entries ({left}): {why}"),
        );
    }
    if let Err(e) = rows.finish() {
        return could_not("export", e);
    }
    eprintln!(
        "export: {written} entries, {verified} verified, {} not (see their problem) in {:.1} s",
        written - verified,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
