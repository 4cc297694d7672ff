//! `call-events-dnc import`: a DNC list the company already keeps, put on the register
//! (docs/contract.md §8). The file is first copied, as it is hashed, to a private snapshot
//! (so the `fileSha256` each entry keeps is the hash of exactly the bytes imported, even if
//! someone changes the file meanwhile); then two passes over the snapshot, each streaming
//! (memory does not grow with the file): the first checks every line, listing the bad ones
//! (so `--strict` can refuse before anything is written); the second takes the good lines
//! into the register in chunks of [`CHUNK_LINES`], through the use case
//! ([`call_events::usecases::import`]). The rules of a line are the core's
//! ([`call_events::core::import`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use call_events::adapters::DynamoDncRegister;
use call_events::adapters::list_file::ListRows;
use call_events::core::dial_list::{Country, Layout, layout, without_line_ending};
use call_events::core::domain::Timestamp;
use call_events::core::import::{ImportRun, Taken, imported_signal, line_text, read_line};
use call_events::core::register::{DncSignalRecord, import_due};
use call_events::telemetry::error_chain;
use call_events::usecases::import::{Asked as Options, import_lines};
use call_events::usecases::relay::IMPORTED_SWEEP_LIMIT;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::Digest;

use crate::operator::{could_not, operator_sdk, register_table};

/// Lines taken into the register at once.
const CHUNK_LINES: usize = 5_000;
/// Bad lines listed one by one; past this many, only counted.
const LISTED_BAD_LINES: u64 = 1_000;

/// What the operator asked.
pub struct Asked {
    pub file: PathBuf,
    pub source: String,
    pub default_country: String,
    pub request: bool,
    pub strict: bool,
    pub dry_run: bool,
}

/// Where a list's lines hold what the import reads.
struct Columns {
    layout: Layout,
    requested_at: Option<usize>,
}

/// A line, read: its number, and its signal or why it is refused.
type Line = (u64, Result<DncSignalRecord, String>);

pub async fn import(asked: Asked) -> ExitCode {
    match run(asked).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(why) => could_not("import", why),
    }
}

/// Imports, and says how many lines were refused.
async fn run(asked: Asked) -> Result<u64, String> {
    let started = Instant::now();
    let source = asked.source.trim().to_owned();
    if source.is_empty() {
        return Err("--source names the list (crm, dialer, ...): it cannot be empty".into());
    }
    let country = Country::parse(&asked.default_country)?;
    let table = register_table("to import into")?;
    let name = asked.file.display().to_string();
    let (snapshot, file_sha256) =
        snapshot(&asked.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let run = ImportRun {
        source,
        file_sha256,
        imported_at: Timestamp::now(),
    };

    // First pass: every line checked, the bad ones listed.
    let mut bad = 0u64;
    let mut good = 0u64;
    lines(snapshot.path(), &run, country, |(line, read)| {
        match read {
            Ok(_) => good += 1,
            Err(why) => {
                bad += 1;
                if bad <= LISTED_BAD_LINES {
                    eprintln!("line {line}: {why}");
                }
            }
        }
        Ok(())
    })?;
    if bad > LISTED_BAD_LINES {
        eprintln!("... and {} more bad lines", bad - LISTED_BAD_LINES);
    }
    if asked.strict && bad > 0 {
        eprintln!(
            "import: {name}: {bad} bad line(s) of {}; --strict: nothing written",
            bad + good
        );
        return Ok(bad);
    }

    // Second pass: the good lines taken into the register.
    let register =
        DynamoDncRegister::new(aws_sdk_dynamodb::Client::new(&operator_sdk().await?), table);
    let options = Options {
        request: asked.request,
        dry_run: asked.dry_run,
    };
    let bar = ProgressBar::new(good);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} lines  {msg}  ETA {eta}")
    {
        bar.set_style(style);
    }
    let mut counts: BTreeMap<Taken, u64> = BTreeMap::new();
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut take_chunk = |chunk: Vec<(u64, DncSignalRecord)>| -> Result<(), String> {
        let taken =
            futures_executor_block(import_lines(&register, chunk, run.imported_at, options))
                .map_err(|e| {
                    format!(
                        "stopped after {} lines (those are on the register; run the same import \
                     again to finish: it changes nothing twice): {}",
                        counts.values().sum::<u64>(),
                        error_chain(&e)
                    )
                })?;
        for (_, t) in &taken {
            *counts.entry(*t).or_default() += 1;
        }
        bar.inc(taken.len() as u64);
        Ok(())
    };
    lines(snapshot.path(), &run, country, |(line, read)| {
        if let Ok(signal) = read {
            chunk.push((line, signal));
        }
        if chunk.len() >= CHUNK_LINES {
            take_chunk(std::mem::take(&mut chunk))?;
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        take_chunk(chunk)?;
    }
    bar.finish_and_clear();

    let count = |t: Taken| counts.get(&t).copied().unwrap_or(0);
    let seconds = started.elapsed().as_secs_f64();
    let requests = match (asked.request, count(Taken::Added)) {
        (true, 0) => "; no DNC request owed".to_owned(),
        (true, n) => {
            // The sweep sends IMPORTED_SWEEP_LIMIT a minute, after every platform request.
            let minutes = n.div_ceil(IMPORTED_SWEEP_LIMIT as u64);
            let due = import_due(Timestamp::now());
            format!(
                "; {n} DNC request(s) owed, due by {due} (10 business days): the sweep sends \
                 up to {IMPORTED_SWEEP_LIMIT} a minute after the platform's, so all within about \
                 {minutes} minute(s) of a working relay"
            )
        }
        (false, _) => String::new(),
    };
    eprintln!(
        "import{}: {name} ({} lines, sha256 {}), source {:?}: {} added, {} already there, {} \
         earlier date kept, {} now first, {bad} refused{requests}; {seconds:.1} s ({:.0} \
         lines/s){}",
        if asked.dry_run { " (dry run)" } else { "" },
        good + bad,
        run.file_sha256,
        run.source,
        count(Taken::Added),
        count(Taken::AlreadyThere),
        count(Taken::EarlierKept),
        count(Taken::NowFirst),
        (good + bad) as f64 / seconds.max(0.001),
        if asked.dry_run {
            ": nothing written"
        } else {
            ""
        },
    );
    Ok(bad)
}

/// Runs a future to its end from the synchronous line loop (the command's runtime is
/// multi-threaded, so the use case's concurrent writes go on meanwhile).
fn futures_executor_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// A private copy of the file (removed when dropped), and its SHA-256 in lower-case hex:
/// the hash of exactly the bytes the import then reads.
fn snapshot(path: &Path) -> std::io::Result<(tempfile::NamedTempFile, String)> {
    use std::io::{Read, Write};
    let mut hasher = sha2::Sha256::new();
    let mut file = BufReader::new(File::open(path)?);
    let mut copy = tempfile::Builder::new()
        .prefix("call-events-dnc-import-")
        .tempfile()?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => {
                hasher.update(&buffer[..n]);
                copy.write_all(&buffer[..n])?;
            }
        }
    }
    copy.flush()?;
    Ok((copy, hex::encode(hasher.finalize())))
}

/// Each line of the list, read, handed to `each` in order.
fn lines(
    path: &Path,
    run: &ImportRun,
    country: Country,
    mut each: impl FnMut(Line) -> Result<(), String>,
) -> Result<(), String> {
    let mut rows = ListRows::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let Some((line, raw)) = rows.next_row()? else {
        return Ok(());
    };
    let columns = columns(&rows.fields())?;
    if columns.layout == Layout::OnePerLine {
        each(read(&rows, &columns, run, country, line, &raw))?;
    }
    while let Some((line, raw)) = rows.next_row()? {
        each(read(&rows, &columns, run, country, line, &raw))?;
    }
    Ok(())
}

fn columns(first_row: &[String]) -> Result<Columns, String> {
    let layout = layout(first_row, None)?;
    let requested_at = match layout {
        Layout::Header { .. } => layout_column(first_row, "requestedAt"),
        Layout::OnePerLine => None,
    };
    Ok(Columns {
        layout,
        requested_at,
    })
}

fn layout_column(first_row: &[String], name: &str) -> Option<usize> {
    match layout(first_row, Some(name)) {
        Ok(Layout::Header { column }) => Some(column),
        _ => None,
    }
}

/// The line the rows reader is at, as a signal, or why not.
fn read(
    rows: &ListRows,
    columns: &Columns,
    run: &ImportRun,
    country: Country,
    line: u64,
    raw: &[u8],
) -> Line {
    // A row's bytes start with any blank lines the parser passed over.
    let exact = without_line_ending(raw);
    let exact = &exact[exact
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()..];
    let shown = || String::from_utf8_lossy(&exact[..exact.len().min(200)]).into_owned();
    let phone = rows.phone_value(&columns.layout, raw);
    let requested = columns.requested_at.map(|c| rows.field(c));
    let read = line_text(exact)
        .and_then(|text| {
            let (phone, at) = read_line(&phone, requested.as_deref(), country, run.imported_at)?;
            Ok(imported_signal(run, phone, at, line, text))
        })
        .map_err(|why| format!("{why}: {}", shown()));
    (line, read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_holds_the_bytes_its_hash_is_of_whatever_the_file_becomes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        std::fs::write(&path, b"phone\r\n+12025550100\r\n").unwrap();
        let (copy, hash) = snapshot(&path).unwrap();
        std::fs::write(&path, b"phone\n+19999999999\n").unwrap();
        let bytes = std::fs::read(copy.path()).unwrap();
        assert_eq!(bytes, b"phone\r\n+12025550100\r\n");
        assert_eq!(hash, hex::encode(sha2::Sha256::digest(&bytes)));
    }
}
