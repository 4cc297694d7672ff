//! API Gateway events that lambda_http alone would abort on (its URI building `unwrap`s):
//! the binary's conversion (`request_from_event`) takes them, and the webhook answers them
//! as any other request. The fixtures were found by the `apigw_request` fuzz target.

mod support;

use call_events::adapters::MemoryLeadStore;
use call_events::core::signature::{Secret, Verifier};
use call_events::entrypoints::http::{WebhookHandler, request_from_event};
use call_events::usecases::record::CallEventRecorder;
use serde_json::Value;
use support::aws::{LOCAL_SECRET, resign, sample};

/// An input the fuzzer found lambda_http or aws_lambda_events aborting on.
fn crash_input(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn status_of(event: Value) -> u16 {
    let handler = WebhookHandler::new(
        Verifier::new(vec![Secret::new(LOCAL_SECRET).unwrap()], 300),
        CallEventRecorder::new(MemoryLeadStore::new()),
    );
    let request = lambda_http::Request::from(request_from_event(event).unwrap());
    handler.respond(&request).await.0.status().as_u16()
}

#[tokio::test]
async fn events_whose_host_path_or_query_make_no_uri_are_answered_not_aborted_on() {
    for name in [
        "apigw-event-with-invalid-host.json",
        "apigw-event-with-invalid-base64-body.json",
    ] {
        // As found: whatever the answer, an answer.
        let status = status_of(crash_input(name)).await;
        assert!(matches!(status, 401 | 405 | 413), "{name}: {status}");
    }
    let mut events = vec![crash_input("apigw-event-with-invalid-host.json")];
    let mut bad_proto = sample("02-call-received.json");
    bad_proto["headers"]["x-forwarded-proto"] = Value::from("ht tp");
    events.push(bad_proto);
    let mut bad_path = sample("02-call-received.json");
    bad_path["rawPath"] = Value::from("/call events{}");
    bad_path["rawQueryString"] = Value::from("a=%%");
    events.push(bad_path);
    let mut not_base64 = sample("13-base64-call-received.json");
    not_base64["body"] = Value::from("R#not base64 at all");
    assert_eq!(
        status_of(not_base64.clone()).await,
        401,
        "signed over other bytes"
    );
    let mut rest = sample("12-rest-v1-call-initiated.json");
    rest["headers"]["Host"] = Value::from("exa mple{.com");
    rest["path"] = Value::from("not a path");
    events.push(rest);
    for event in events {
        // Signed now with the local secret: the request goes all the way through.
        let status = status_of(resign(event.clone(), LOCAL_SECRET)).await;
        assert!(matches!(status, 200 | 405), "{status}: {event}");
    }
}

#[test]
fn the_conversion_keeps_what_the_contract_uses() {
    let event = resign(sample("07-call-scheduled.json"), LOCAL_SECRET);
    let request = lambda_http::Request::from(request_from_event(event.clone()).unwrap());
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.headers()["aktify-signature"],
        event["headers"]["aktify-signature"].as_str().unwrap()
    );
    assert_eq!(
        request.body().as_ref(),
        event["body"].as_str().unwrap().as_bytes()
    );
    assert_eq!(request.uri().path(), "/call-events");
}
