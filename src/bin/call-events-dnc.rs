//! The operator's command for the DNC register.

use std::path::PathBuf;
use std::process::ExitCode;

use call_events::adapters::DynamoDncRegister;
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::app::{build_relay, sdk_config};
use call_events::config::RelayConfig;
use call_events::core::decided::{Change, Decided};
use call_events::core::register::DncSignalRecord;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// The DNC register, for its operators.
#[derive(Debug, Parser)]
#[command(name = "call-events-dnc", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Puts every entry whose DNC request is pending but out of the sweep's index (entries
    /// of the first release) into it, so the sweep sends its request within minutes.
    ///
    /// Run once after upgrading from the first release (README, "Upgrading"). Idempotent: a
    /// second run finds nothing. Reads the register once (a scan) and writes one
    /// conditional update per entry found. Needs DNC_TABLE_NAME and the AWS SDK's own
    /// environment (AWS_REGION, credentials; AWS_ENDPOINT_URL for a local emulator).
    BackfillPending,
    /// Registers the DNC signals of something the relay parked (README, "RelayParkedAlarm"),
    /// and sends each phone's request if it is pending.
    ///
    /// FILE holds the parked item's `body` as it is (or the quarantine record's): a DNC
    /// signal as the relay parked it, or an unreadable stream record's new image (DynamoDB
    /// JSON) after you fixed what its reason names. Safe to run again: the register keeps a
    /// signal once, and a phone's request is sent once. Needs the relay's environment
    /// (TABLE_NAME, DNC_TABLE_NAME, CALLBACK_QUEUE_URL, DNC_QUEUE_URL, QUARANTINE_QUEUE_URL).
    RegisterParked {
        /// The parked body, in a file.
        file: PathBuf,
    },
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::BackfillPending => backfill_pending().await,
        Command::RegisterParked { file } => register_parked(&file).await,
    }
}

async fn backfill_pending() -> ExitCode {
    let Some(table) = std::env::var("DNC_TABLE_NAME")
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        eprintln!("call-events-dnc: DNC_TABLE_NAME is not set");
        return ExitCode::from(3);
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let register = DynamoDncRegister::new(client, table);
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    let result = register
        .backfill_pending(|done| {
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
    let report = relay.relay().relay(&[change]).await;
    if report.retry_from.is_some() || report.parked > 0 {
        return fail(format!(
            "not done ({} registered, {} parked again): see the lines above; run it again",
            report.dnc_signals_registered, report.parked
        ));
    }
    println!(
        "register-parked: {} signal(s) on the register, {} DNC request(s) sent now",
        report.dnc_signals_registered, report.dnc_sent
    );
    ExitCode::SUCCESS
}
