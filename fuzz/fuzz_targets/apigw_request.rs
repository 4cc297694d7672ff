//! Any API Gateway event (HTTP API or REST) through the whole webhook, on in-memory
//! adapters: the conversion the binary does (`request_from_event`, then lambda_http's),
//! then the contract's answers. Never a panic; every
//! answer is JSON with one of the contract's statuses.
#![no_main]

use std::sync::OnceLock;

use call_events::adapters::MemoryLeadStore;
use call_events::core::signature::{Secret, Verifier};
use call_events::entrypoints::http::{WebhookHandler, request_from_event};
use call_events::usecases::record::CallEventRecorder;
use libfuzzer_sys::fuzz_target;

fn webhook() -> &'static (tokio::runtime::Runtime, WebhookHandler<MemoryLeadStore>) {
    static WEBHOOK: OnceLock<(tokio::runtime::Runtime, WebhookHandler<MemoryLeadStore>)> =
        OnceLock::new();
    WEBHOOK.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let secret = Secret::new("local-dev-secret-do-not-deploy").expect("long enough");
        let handler = WebhookHandler::new(
            // Any signature time is within tolerance, so signed inputs reach the parser.
            Verifier::new(vec![secret], u64::MAX),
            CallEventRecorder::new(MemoryLeadStore::new()),
        );
        (runtime, handler)
    })
}

fuzz_target!(|data: &[u8]| {
    // As the function receives it: the raw event, then `request_from_event`.
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(request) = request_from_event(event) else {
        return;
    };
    let request = lambda_http::Request::from(request);
    let (runtime, handler) = webhook();
    let (response, _report) = runtime.block_on(handler.respond(&request));
    assert!(matches!(
        response.status().as_u16(),
        200 | 401 | 405 | 413 | 503
    ));
    let content_type = response.headers().get("content-type").map(|v| v.as_bytes());
    assert_eq!(content_type, Some(&b"application/json"[..]));
    let body: serde_json::Value =
        serde_json::from_slice(response.body().as_ref()).expect("every answer is JSON");
    assert!(body.is_object());
});
