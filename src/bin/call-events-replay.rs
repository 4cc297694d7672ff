//! The operator's command: replays the quarantine queue through the current code.

use std::process::ExitCode;

use call_events::app::{build_replay, sdk_config};
use call_events::config::ReplayConfig;
use call_events::replay::Verdict;
use indicatif::{ProgressBar, ProgressStyle};

const HELP: &str = "\
call-events-replay: replays the quarantine queue through the current code.

Each quarantined body is parsed again. What now parses is recorded as a delivery would be
(it was authenticated when it arrived) and leaves the queue; an event type that is now
ignored by design leaves it too; what still breaks a rule, or was parked by the relay,
stays, and its reason is printed. A summary ends the run.

USAGE:
    call-events-replay [--dry-run] [--max N]

OPTIONS:
    --dry-run   say what would happen; record and delete nothing
    --max N     handle at most N messages (default: the whole queue)
    -h, --help  this text

ENVIRONMENT (as the functions read it):
    TABLE_NAME, QUARANTINE_QUEUE_URL, and the AWS SDK's own (AWS_REGION, credentials,
    AWS_ENDPOINT_URL for a local emulator)
";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut dry_run = false;
    let mut max = usize::MAX;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--max" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max = n,
                None => return usage("--max needs a number"),
            },
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
    let replay = build_replay(&config, &sdk_config().await);
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
            bar.println(format!("{}  {line}", message.message_id));
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
