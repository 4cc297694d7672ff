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
            handler
                .handle_event(event.payload)
                .await
                .map_err(Error::from)
        },
    ))
    .await
}
