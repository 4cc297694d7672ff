//! The webhook: API Gateway in, one conditional DynamoDB write, the contract's answer out.

use std::convert::Infallible;

use call_events::entrypoints::http::request_from_event;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Diagnostics go to stderr (JSON when the function's log format is JSON); stdout carries
    // the one JSON line (and metrics) per request.
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let handler = match call_events::app::start().await {
        Ok(handler) => handler,
        Err(e) => {
            eprintln!("call-events-receiver cannot start: {e}");
            std::process::exit(1);
        }
    };
    let handler = &handler;
    let adapter = Adapter::from(service_fn(move |request| async move {
        Ok::<_, Infallible>(handler.handle(request).await)
    }));
    // The raw event first: see `request_from_event` for why.
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let mut adapter = adapter.clone();
        async move {
            let (payload, context) = event.into_parts();
            let request = request_from_event(payload).map_err(Error::from)?;
            adapter
                .call(LambdaEvent::new(request, context))
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
