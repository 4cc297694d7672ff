//! The operator's command: replays the quarantine queue through the current code.

use std::process::ExitCode;

use call_events::app::{build_replay, sdk_config};
use call_events::config::ReplayConfig;
use call_events::usecases::replay::{Trust, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

const HELP: &str = "\
call-events-replay: replays the quarantine queue through the current code.

Each quarantined body is parsed again. A record is recorded only if its kept signature
header verifies its body with one of the webhook's configured secrets (its age does not
matter; a secret rotated out does). What now parses is recorded as a delivery would be and
leaves the queue; an event type that is now ignored by design leaves it too; what still
breaks a rule, was parked by the relay, has no signature header or one no configured secret
made, stays, and its reason is printed. A summary ends the run.

USAGE:
    call-events-replay [--dry-run] [--max N] [--trust-unsigned-first-release]

OPTIONS:
    --dry-run   say what would happen; record and delete nothing
    --max N     handle at most N messages (default: the whole queue)
    --trust-unsigned-first-release
                also record records that carry no signature header at all, as the first
                release kept them: you vouch that nobody else could send to the queue.
                A header that does not verify is never trusted.
    -h, --help  this text

ENVIRONMENT (as the webhook reads it):
    TABLE_NAME, WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET), ACCEPT_LEGACY_V1_SIGNATURES,
    QUARANTINE_QUEUE_URL, and the AWS SDK's own (AWS_REGION, credentials,
    AWS_ENDPOINT_URL for a local emulator)
";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut dry_run = false;
    let mut max = usize::MAX;
    let mut trust = Trust::SignedOnly;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--max" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max = n,
                None => return usage("--max needs a number"),
            },
            "--trust-unsigned-first-release" => trust = Trust::UnsignedFirstRelease,
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    let config = match ReplayConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("call-events-replay cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let replay = match build_replay(&config, &sdk_config().await, trust).await {
        Ok(replay) => replay,
        Err(e) => {
            eprintln!("call-events-replay cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} handled  {msg}") {
        bar.set_style(style);
    }
    let mode = if dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    let result = replay
        .run(dry_run, max, |message, verdict| {
            bar.inc(1);
            let line = match verdict {
                Verdict::Recorded(outcome) => format!("recorded ({outcome})"),
                Verdict::Ignored => "ignored now: removed".to_owned(),
                Verdict::Left(reason) => format!("left: {reason}"),
                Verdict::Failed(why) => format!("left, failed for now: {why}"),
            };
            let line = format!("{}  {line}", message.message_id);
            // Hidden when stdout is not a terminal: the reasons are printed all the same.
            match bar.is_hidden() {
                true => println!("{line}"),
                false => bar.println(line),
            }
        })
        .await;
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            println!(
                "{} handled{mode}: {} recorded, {} duplicates, {} ignored, {} left with their reason, {} failed for now",
                s.seen, s.recorded, s.duplicates, s.ignored, s.left, s.failed
            );
            if s.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!(
                "call-events-replay stopped: {}",
                call_events::telemetry::error_chain(&e)
            );
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("call-events-replay: {problem}\n\n{HELP}");
    ExitCode::from(2)
}
