//! The register's API for the company's other services (docs/contract.md §9): routes
//! authorized by AWS IAM in API Gateway, answered from the DNC register.

// The Lambda runtime's service around the handler's (boxed) futures: deeper than the
// compiler's default query depth when it lays out `main`'s future in a fresh build.
#![recursion_limit = "256"]

use call_events::entrypoints::api::ApiEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Diagnostics go to stderr; stdout carries one JSON line per request.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let handler = match call_events::app::start_api().await {
        Ok(handler) => handler,
        Err(e) => {
            eprintln!("call-events-api cannot start: {e}");
            std::process::exit(1);
        }
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let (answer, log) = handler.respond(&ApiEvent::read(event.payload)).await;
            println!("{log}");
            Ok::<_, Error>(answer.into_response())
        },
    ))
    .await
}
