//! The operator's command for the DNC register (docs/contract.md §8): prove an opt-out,
//! export the register with each entry's verdict, and the register's repairs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::adapters::{DynamoDncRegister, DynamoLeadStore};
use call_events::app::{build_relay, evidence_verifier, sdk_config};
use call_events::config::{ProveConfig, RelayConfig};
use call_events::core::decided::{Change, Decided};
use call_events::core::domain::{Phone, Timestamp};
use call_events::core::proof::{ExportRow, prove};
use call_events::core::register::DncSignalRecord;
use call_events::core::signature::Verifier;
use call_events::telemetry::error_chain;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

/// The DNC register, for its operators.
///
/// Exit status: 0 done (prove: proven), 1 (prove) not on the register, 2 (prove) on the
/// register but not proven, 3 anything else (bad arguments, configuration, AWS
/// unreachable), with one line saying what.
#[derive(Debug, Parser)]
#[command(name = "call-events-dnc", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Proves a phone's opt-out: its register entry, the signed request of its first DNC
    /// signal checked with the webhook's secrets, when its DNC request reached SQS, and its
    /// leads.
    ///
    /// The first line is the verdict: PROVEN, NOT ON THE REGISTER, or NOT PROVEN and why.
    /// Exit 0 proven, 1 not on the register, 2 not proven, 3 could not tell. Reads only:
    /// one consistent GetItem on the register, one Query on the lead table. Needs
    /// DNC_TABLE_NAME, TABLE_NAME, WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET: a list, where
    /// secrets since removed can be added), ACCEPT_LEGACY_V1_SIGNATURES, and the AWS SDK's
    /// own environment (AWS_REGION, credentials; AWS_ENDPOINT_URL for a local emulator).
    Prove {
        /// The phone, in E.164 (+12025550100).
        phone: String,
        /// Prints one JSON object (docs/contract.md §8), to hand on as it is.
        #[arg(long)]
        json: bool,
    },
    /// Writes every register entry with its verdict (phone, dncAt, reason, campaignId,
    /// requestState, requestSentAt, signals, verified, problem), one per line or row.
    ///
    /// Reads only, by a parallel scan; shows progress on a terminal. An entry that cannot
    /// be read is a row with verified false and the reason. Needs DNC_TABLE_NAME, the
    /// webhook's secrets (as for prove) and the AWS SDK's environment.
    Export {
        /// jsonl: one JSON object per line; csv: a header row, then one row per entry.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Writes here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Scan segments read at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
        segments: u32,
    },
    /// Puts every entry whose DNC request is pending but out of the sweep's index (entries
    /// of the first release) into it, so the sweep sends its request within minutes.
    ///
    /// Run once after upgrading from the first release (docs/deploy.md, "Upgrading").
    /// Idempotent: a second run finds nothing. Reads the register once (a scan) and writes
    /// one conditional update per entry found. Needs DNC_TABLE_NAME and the AWS SDK's own
    /// environment (AWS_REGION, credentials; AWS_ENDPOINT_URL for a local emulator).
    BackfillPending,
    /// Registers the DNC signals of something the relay parked (docs/operating.md,
    /// `RelayParkedAlarm`), and sends each phone's request if it is pending.
    ///
    /// FILE holds the parked item's `body` as it is (or the quarantine record's): a DNC
    /// signal as the relay parked it, or an unreadable stream record's new image (DynamoDB
    /// JSON) after you fixed what its reason names. Safe to run again: the register keeps a
    /// signal once, and a phone's request is sent once. Needs the relay's environment
    /// (TABLE_NAME, DNC_TABLE_NAME, CALLBACK_QUEUE_URL, DNC_QUEUE_URL,
    /// QUARANTINE_QUEUE_URL).
    RegisterParked {
        /// The parked body, in a file.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

/// Exit status 3, with one line.
fn could_not(command: &str, why: impl std::fmt::Display) -> ExitCode {
    eprintln!("call-events-dnc {command}: {why}");
    ExitCode::from(3)
}

/// The DNC signals a parked body holds: a signal, or a stream record's image.
fn signals_of(text: &str) -> Result<Vec<DncSignalRecord>, String> {
    if let Ok(signal) = serde_json::from_str::<DncSignalRecord>(text) {
        return Ok(vec![signal]);
    }
    let image: serde_dynamo::Item = serde_json::from_str(text)
        .map_err(|e| format!("neither a DNC signal nor a record's image (DynamoDB JSON): {e}"))?;
    let decided = decode_new_image(image)
        .map_err(|unreadable| format!("the image is still unreadable: {}", unreadable.why))?;
    Ok(decided.dnc_signals)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and succeed; anything else is a bad argument: 3.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    match cli.command {
        Command::Prove { phone, json } => prove_phone(&phone, json).await,
        Command::Export {
            format,
            out,
            segments,
        } => export(format, out.as_deref(), segments).await,
        Command::BackfillPending => backfill_pending().await,
        Command::RegisterParked { file } => register_parked(&file).await,
    }
}

/// The configuration and the verifier `prove` and `export` share.
async fn prover(command: &str) -> Result<(ProveConfig, aws_config::SdkConfig, Verifier), ExitCode> {
    let config = ProveConfig::from_env().map_err(|e| could_not(command, e))?;
    // An operator's read, not a request's: more patience than the functions have (and a
    // scan backs off when throttled), unless AWS_MAX_ATTEMPTS says otherwise.
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(8);
    let sdk = sdk_config()
        .await
        .into_builder()
        .retry_config(RetryConfig::adaptive().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    let verifier = evidence_verifier(&config, &sdk)
        .await
        .map_err(|e| could_not(command, e))?;
    Ok((config, sdk, verifier))
}

async fn prove_phone(phone: &str, json: bool) -> ExitCode {
    let parsed = match Phone::parse(phone) {
        Ok(parsed) => parsed,
        Err(e) => return could_not("prove", format!("{phone:?} is not {}", e.expected)),
    };
    let (config, sdk, verifier) = match prover("prove").await {
        Ok(prover) => prover,
        Err(code) => return code,
    };
    let Some(table) = config.table_name.as_deref() else {
        return could_not(
            "prove",
            "TABLE_NAME is not set (prove lists the phone's leads)",
        );
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let register = DynamoDncRegister::new(client.clone(), &config.dnc_table_name);
    let leads = DynamoLeadStore::new(client, table);
    let (found, flags) = tokio::join!(register.find(&parsed), leads.lead_flags(&parsed));
    let (found, flags) = match (found, flags) {
        (Ok(found), Ok(flags)) => (found, flags),
        (Err(e), _) | (_, Err(e)) => {
            return could_not("prove", format!("cannot read: {}", error_chain(&e)));
        }
    };
    let proof = prove(parsed.as_str(), found, flags, &verifier);
    if json {
        match serde_json::to_string_pretty(&proof) {
            Ok(text) => println!("{text}"),
            Err(e) => return could_not("prove", e),
        }
    } else {
        println!("{}", proof.report());
    }
    ExitCode::from(proof.verdict.exit_code())
}

/// Where export writes its rows.
enum Rows {
    Jsonl(Box<dyn Write>),
    Csv(Box<csv::Writer<Box<dyn Write>>>),
}

impl Rows {
    fn new(format: Format, out: Box<dyn Write>) -> std::io::Result<Self> {
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
            Self::Csv(writer) => Ok(writer.write_record(row.cells())?),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Jsonl(out) => out.flush(),
            Self::Csv(writer) => writer.flush(),
        }
    }
}

async fn export(format: Format, out: Option<&Path>, segments: u32) -> ExitCode {
    let started = Instant::now();
    let (config, sdk, verifier) = match prover("export").await {
        Ok(prover) => prover,
        Err(code) => return code,
    };
    let sink: Box<dyn Write> = match out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(e) => return could_not("export", format!("cannot write {}: {e}", path.display())),
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
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
    if let Err(e) = rows.flush() {
        return could_not("export", format!("cannot write: {e}"));
    }
    let failed = match scanned {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(error_chain(&e)),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failed {
        return could_not(
            "export",
            format!("stopped after {written} entries (the output is incomplete): {why}"),
        );
    }
    eprintln!(
        "export: {written} entries, {verified} verified, {} not (see their problem) in {:.1} s",
        written - verified,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

async fn backfill_pending() -> ExitCode {
    let Some(table) = std::env::var("DNC_TABLE_NAME")
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        return could_not("backfill-pending", "DNC_TABLE_NAME is not set");
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let register = DynamoDncRegister::new(client, table);
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    let result = register
        .backfill_pending(Timestamp::now(), |done| {
            bar.set_message(format!("{} found, {} indexed", done.found, done.indexed))
        })
        .await;
    bar.finish_and_clear();
    match result {
        Ok(done) => {
            println!(
                "backfill-pending: {} entries pending out of the index, {} put in it; \
                 the sweep sends their requests within minutes",
                done.found, done.indexed
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "call-events-dnc backfill-pending stopped: {}; run it again (it is idempotent)",
                call_events::telemetry::error_chain(&e)
            );
            ExitCode::from(3)
        }
    }
}

async fn register_parked(file: &PathBuf) -> ExitCode {
    let fail = |why: String| {
        eprintln!("call-events-dnc register-parked: {why}");
        ExitCode::from(3)
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
    };
    let signals = match signals_of(&text) {
        Ok(signals) if signals.is_empty() => return fail("it holds no DNC signal".into()),
        Ok(signals) => signals,
        Err(why) => return fail(why),
    };
    let config = match RelayConfig::from_env() {
        Ok(config) => config,
        Err(e) => return fail(e.to_string()),
    };
    let relay = build_relay(&config, &sdk_config().await);
    let change = Change {
        sequence_number: "register-parked".into(),
        decided: Ok(Decided {
            dnc_signals: signals,
            ..Decided::default()
        }),
    };
    // An operator's command: a few minutes, then it says to run it again.
    let by = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    let report = relay.relay().relay(&[change], by).await;
    if report.retry_from.is_some() || report.counts.parked > 0 {
        return fail(format!(
            "not done ({} registered, {} parked again): see the lines above; run it again",
            report.counts.dnc_signals_registered, report.counts.parked
        ));
    }
    println!(
        "register-parked: {} signal(s) on the register, {} DNC request(s) sent now",
        report.counts.dnc_signals_registered, report.counts.dnc_sent
    );
    ExitCode::SUCCESS
}
