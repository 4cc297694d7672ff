//! The register's repair `backfill-pending` (entries of the first release into the sweep's
//! index). `register-parked` is in `parked.rs`.

use std::process::ExitCode;

use call_events::adapters::DynamoDncRegister;
use call_events::app::sdk_config;
use call_events::core::domain::Timestamp;
use indicatif::{ProgressBar, ProgressStyle};

use crate::operator::could_not;

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
