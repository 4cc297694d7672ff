//! The register's repairs: `backfill-pending` (entries of the first release into the
//! sweep's index) and `register-parked` (the signals of something the relay parked).

use std::path::Path;
use std::process::ExitCode;

use call_events::adapters::DynamoDncRegister;
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::app::{build_relay, sdk_config};
use call_events::config::RelayConfig;
use call_events::core::decided::{Change, Decided};
use call_events::core::domain::Timestamp;
use call_events::core::register::DncSignalRecord;
use indicatif::{ProgressBar, ProgressStyle};

use crate::operator::could_not;

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

pub async fn backfill_pending() -> ExitCode {
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

pub async fn register_parked(file: &Path) -> ExitCode {
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
