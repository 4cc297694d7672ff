//! Creates the functions' tables and queues (and the example consumer's table) on the local
//! emulator at `AWS_ENDPOINT_URL` and prints the function's environment as `KEY=VALUE`
//! lines, for `cargo lambda watch --env-file`. Used by `scripts/local.sh` and
//! `scripts/bench.sh`. A binary of this crate, not an example of the receiver's: it links
//! the receiver's library as the functions do (no dev-dependencies, no `memory` feature), so
//! the local run builds that library once.
//!
//! cargo run -p call-events-local --bin local-resources -- <name-prefix>

use std::process::ExitCode;

use call_events_local as local;

#[tokio::main]
async fn main() -> ExitCode {
    let prefix = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "local".to_owned());
    let sdk = call_events::app::sdk_config().await;
    match local::create(&sdk, &prefix).await {
        Ok(resources) => {
            for (name, value) in resources.env() {
                println!("{name}={value}");
            }
            println!("CALLBACK_DLQ_URL={}", resources.callback_dlq);
            println!("DNC_DLQ_URL={}", resources.dnc_dlq);
            println!("RELAY_FAILURES_QUEUE_URL={}", resources.relay_failures);
            println!("LEAD_TABLE_STREAM_ARN={}", resources.stream_arn);
            // The example consumer's own table (crates/example-consumer).
            let table = format!("{prefix}-consumer-idempotency");
            let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
            if let Err(e) =
                example_consumer::dynamodb::create_idempotency_table(&dynamodb, &table).await
            {
                eprintln!(
                    "cannot create the example consumer's table: {}",
                    call_events::telemetry::error_chain(&e)
                );
                return ExitCode::FAILURE;
            }
            println!("IDEMPOTENCY_TABLE_NAME={table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "cannot create the local resources: {}",
                call_events::telemetry::error_chain(&e)
            );
            ExitCode::FAILURE
        }
    }
}
