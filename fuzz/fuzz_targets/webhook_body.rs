//! Any bytes as a signed body, handed over in base64 as API Gateway does for bytes that
//! are not UTF-8, through the whole webhook on in-memory adapters (whose table refuses an
//! item over 400 KB, as DynamoDB does): never a panic, always a 2xx (docs/contract.md §2: while
//! DynamoDB is up, an authentic body is answered 2xx at its first delivery), never cut.
//! Each input gets a fresh table: a first delivery, and memory stays flat.
#![no_main]

use std::sync::OnceLock;

use call_events::adapters::MemoryLeadStore;
use call_events::core::signature::{Secret, Verifier, sign_v2};
use call_events::entrypoints::http::{WebhookHandler, request_from_event};
use call_events::usecases::record::{CallEventRecorder, DEADLINE};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "local-dev-secret-do-not-deploy";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|body: &[u8]| {
    use base64::Engine;
    let secret = Secret::new(SECRET).expect("long enough");
    let signing = secret.clone();
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /call-events",
        "rawPath": "/call-events",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "aktify-signature": sign_v2(&signing, 1_706_443_200_000, body),
        },
        "requestContext": {
            "http": {"method": "POST", "path": "/call-events", "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "fuzz"},
            "requestId": "fuzz", "routeKey": "POST /call-events", "stage": "$default",
            "time": "28/Jan/2024:12:00:00 +0000", "timeEpoch": 1_706_443_200_000u64
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    });
    let request = lambda_http::Request::from(request_from_event(event).expect("an HTTP API event"));
    let handler = WebhookHandler::new(
        Verifier::new(vec![secret], u64::MAX),
        // A fresh recorder per input: a small cache, as the default one (4096 leads)
        // is allocated up front and would be most of a run's time.
        CallEventRecorder::with_limits(MemoryLeadStore::new(), 16, DEADLINE),
    );
    let (response, report) = runtime().block_on(handler.respond(&request));
    let status = response.status().as_u16();
    assert!(
        (200..300).contains(&status) || (status == 413 && body.len() > 256 * 1024),
        "{status}: {:?}",
        report.detail
    );
    assert!(!report.body_cut, "{:?}", report.detail);
});
