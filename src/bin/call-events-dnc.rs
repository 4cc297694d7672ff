//! The operator's command for the DNC register.

use std::process::ExitCode;

use call_events::adapters::DynamoDncRegister;
use call_events::app::sdk_config;
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
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(table) = std::env::var("DNC_TABLE_NAME")
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        eprintln!("call-events-dnc: DNC_TABLE_NAME is not set");
        return ExitCode::from(3);
    };
    let register =
        DynamoDncRegister::new(aws_sdk_dynamodb::Client::new(&sdk_config().await), table);
    match cli.command {
        Command::BackfillPending => {
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
    }
}
