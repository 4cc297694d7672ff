//! `call-events-dnc scrub`: a dial list without the register's phones (docs/contract.md
//! §8). The file is read once, in chunks of [`CHUNK_ROWS`] rows (memory does not grow with
//! it), each row with its exact bytes ([`ListRows`]), so a row that stays is written byte
//! for byte (line ending, quoting, encoding and all). The verdicts are the use case's
//! ([`call_events::usecases::scrub`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use call_events::adapters::DynamoDncRegister;
use call_events::adapters::list_file::ListRows;
use call_events::adapters::output_file::{Output, Replacing, refuse_overlap};
use call_events::core::dial_list::{
    Country, Layout, NotAPhone, layout, read_phone, without_line_ending,
};
use call_events::core::domain::Phone;
use call_events::core::spreadsheet::inert;
use call_events::telemetry::error_chain;
use call_events::usecases::scrub::{Verdict, verdicts};
use indicatif::{ProgressBar, ProgressStyle};

use crate::operator::{could_not, operator_sdk, register_table};

/// Rows decided at once: 50 `BatchGetItem`s of 100 phones at most.
const CHUNK_ROWS: usize = 5_000;

/// What the operator asked.
pub struct Asked {
    pub file: PathBuf,
    pub phone_column: Option<String>,
    pub out: Option<PathBuf>,
    pub removed: Option<PathBuf>,
    pub default_country: String,
}

/// One row of the list: where it starts, its exact bytes, the phone read from it.
struct Row {
    line: u64,
    raw: Vec<u8>,
    phone: Result<Phone, NotAPhone>,
}

#[derive(Default)]
struct Counts {
    rows: u64,
    kept: u64,
    dnc: u64,
    invalid: u64,
}

/// The columns of `--removed`: the row's physical line, why it was removed (`dnc`,
/// `invalid phone`), and for `dnc` the entry's `dncAt`, its reason, its first signal's kind
/// and channel; then the row's text.
const REMOVED_COLUMNS: [&str; 7] = ["line", "why", "dncAt", "reason", "kind", "channel", "row"];

pub async fn scrub(asked: Asked) -> ExitCode {
    match run(asked).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => could_not("scrub", why),
    }
}

async fn run(asked: Asked) -> Result<(), String> {
    let started = Instant::now();
    let country = Country::parse(&asked.default_country)?;
    let table = register_table("to scrub against")?;
    let name = asked.file.display().to_string();
    // Before anything is opened for writing: no output may be the list, or the other output.
    let outputs: Vec<(&str, &std::path::Path)> =
        [("--out", &asked.out), ("--removed", &asked.removed)]
            .into_iter()
            .filter_map(|(what, path)| Some((what, path.as_deref()?)))
            .collect();
    refuse_overlap(&[("list", &asked.file)], &outputs)?;
    let size = std::fs::metadata(&asked.file)
        .map_err(|e| format!("cannot read {name}: {e}"))?
        .len();
    let mut rows = ListRows::open(&asked.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    // Each output is written beside its target and renamed over it once complete.
    let mut out = Output::to(asked.out.as_deref())?;
    let mut removed = match &asked.removed {
        Some(path) => {
            let mut writer = csv::Writer::from_writer(Replacing::create(path)?);
            writer
                .write_record(REMOVED_COLUMNS)
                .map_err(|e| format!("cannot write: {e}"))?;
            Some(writer)
        }
        None => None,
    };
    let register =
        DynamoDncRegister::new(aws_sdk_dynamodb::Client::new(&operator_sdk().await?), table);
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes}  {msg}  ETA {eta}")
    {
        bar.set_style(style);
    }

    let mut counts = Counts::default();
    let Some((line, raw)) = rows.next_row()? else {
        bar.finish_and_clear();
        if size > 0 {
            return Err(format!(
                "{name} holds only blank lines, no row: nothing written"
            ));
        }
        commit(out, removed)?;
        eprintln!("scrub: {name} is empty (0 bytes): nothing to scrub; the outputs are empty");
        return Ok(());
    };
    let layout =
        layout(&rows.fields(), asked.phone_column.as_deref()).map_err(|why| {
            match asked.phone_column {
                Some(_) => why,
                None => format!("{why}; or name its column with --phone-column"),
            }
        })?;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    match layout {
        // The header row stays, first.
        Layout::Header { .. } => out
            .write_all(&raw)
            .map_err(|e| format!("cannot write: {e}"))?,
        Layout::OnePerLine => {
            let phone = read_phone(&rows.phone_value(&layout, &raw), country);
            chunk.push(Row { line, raw, phone });
        }
    }
    loop {
        let next = rows.next_row()?;
        let done = next.is_none();
        if let Some((line, raw)) = next {
            let phone = read_phone(&rows.phone_value(&layout, &raw), country);
            chunk.push(Row { line, raw, phone });
        }
        if chunk.len() >= CHUNK_ROWS || (done && !chunk.is_empty()) {
            decide(&register, &chunk, &mut out, removed.as_mut(), &mut counts)
                .await
                .map_err(|why| {
                    format!(
                        "stopped after {} rows (the output is incomplete): {why}",
                        counts.rows
                    )
                })?;
            chunk.clear();
            bar.set_position(rows.consumed());
            bar.set_message(format!(
                "{} rows, {} removed",
                counts.rows,
                counts.dnc + counts.invalid
            ));
        }
        if done {
            break;
        }
    }
    let rest = rows.rest()?;
    out.write_all(&rest)
        .map_err(|e| format!("cannot write: {e}"))?;
    commit(out, removed)?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "scrub: {} rows: {} kept, {} removed as on the register, {} removed as not a phone; \
         {seconds:.1} s ({:.0} rows/s). This company's register only: the national and state \
         registries are a separate obligation.",
        counts.rows,
        counts.kept,
        counts.dnc,
        counts.invalid,
        counts.rows as f64 / seconds.max(0.001)
    );
    Ok(())
}

/// Both outputs complete: each renamed over its target.
fn commit(out: Output, removed: Option<csv::Writer<Replacing>>) -> Result<(), String> {
    out.commit()?;
    if let Some(writer) = removed {
        writer
            .into_inner()
            .map_err(|e| format!("cannot write: {}", e.error()))?
            .commit()?;
    }
    Ok(())
}

/// Decides a chunk and writes each row where it goes, in order.
async fn decide(
    register: &DynamoDncRegister,
    chunk: &[Row],
    out: &mut Output,
    mut removed: Option<&mut csv::Writer<Replacing>>,
    counts: &mut Counts,
) -> Result<(), String> {
    let phones: Vec<Result<Phone, NotAPhone>> = chunk.iter().map(|r| r.phone.clone()).collect();
    let verdicts = verdicts(register, &phones)
        .await
        .map_err(|e| error_chain(&e))?;
    for (row, verdict) in chunk.iter().zip(verdicts) {
        counts.rows += 1;
        let (dnc_at, reason, kind, channel) = match &verdict {
            Verdict::Keep => {
                counts.kept += 1;
                out.write_all(&row.raw)
                    .map_err(|e| format!("cannot write: {e}"))?;
                continue;
            }
            Verdict::Dnc(listed) => {
                counts.dnc += 1;
                (
                    listed.dnc_at.as_str(),
                    listed.reason.as_str(),
                    listed.kind.as_str(),
                    listed.channel.as_str(),
                )
            }
            Verdict::Invalid(_) => {
                counts.invalid += 1;
                ("", "", "", "")
            }
        };
        if let Some(writer) = removed.as_deref_mut() {
            // The row's text without the blank lines before it and its line ending.
            let text = String::from_utf8_lossy(without_line_ending(&row.raw));
            let text = text.trim_start_matches(['\r', '\n']);
            let line = row.line.to_string();
            writer
                .write_record([
                    line.as_str(),
                    verdict.why(),
                    dnc_at,
                    &inert(reason),
                    kind,
                    channel,
                    &inert(text),
                ])
                .map_err(|e| format!("cannot write: {e}"))?;
        }
    }
    Ok(())
}
