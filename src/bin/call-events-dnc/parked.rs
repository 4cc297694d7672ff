//! `register-parked`: the DNC signals of something the relay parked, registered, and each
//! phone's request sent. It runs the relay itself (SQS, DynamoDB Streams): built with the
//! `functions` feature only.

use std::path::Path;
use std::process::ExitCode;

use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::app::{build_relay, sdk_config};
use call_events::config::RelayConfig;
use call_events::core::decided::{Change, Decided};
use call_events::core::register::DncSignalRecord;

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
