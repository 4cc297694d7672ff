//! The relay: on the lead table's DynamoDB stream, sends what each write decided to SQS;
//! on its on-failure queue, redrives the batches Lambda gave up on; on a schedule, sends
//! the DNC requests still pending.

// The stream event's deserializer nests deeply; the layout query needs more room.
#![recursion_limit = "256"]
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Diagnostics go to stderr; stdout carries the one JSON line (and metrics) per batch.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let handler = match call_events::app::start_relay().await {
        Ok(handler) => handler,
        Err(e) => {
            eprintln!("call-events-relay cannot start: {e}");
            std::process::exit(1);
        }
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_of(&event.context);
            handler
                .handle_event(event.payload, deadline)
                .await
                .map_err(Error::from)
        },
    ))
    .await
}

/// The relay's timeout (template.yaml).
const FUNCTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The invocation's deadline (Lambda gives it in milliseconds since the epoch) on tokio's
/// clock. Lambda gives every invocation its whole timeout; a local emulator (`cargo lambda
/// watch`) may give a deadline already past or a few seconds ahead: then the function's
/// own timeout stands in, or the relay would stop before its first record.
fn deadline_of(context: &lambda_runtime::Context) -> tokio::time::Instant {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
    let left = match left < std::time::Duration::from_secs(5) {
        true => FUNCTION_TIMEOUT,
        false => left,
    };
    tokio::time::Instant::now() + left
}
