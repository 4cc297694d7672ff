//! The webhook: API Gateway in, one conditional DynamoDB write, the contract's answer out.

use std::convert::Infallible;

use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Diagnostics go to stderr; stdout carries the one JSON line (and metrics) per request.
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let handler = match call_events::app::start().await {
        Ok(handler) => handler,
        Err(e) => {
            eprintln!("call-events-receiver cannot start: {e}");
            std::process::exit(1);
        }
    };
    let handler = &handler;
    lambda_http::run(service_fn(move |request| async move {
        Ok::<_, Infallible>(handler.handle(request).await)
    }))
    .await
}
