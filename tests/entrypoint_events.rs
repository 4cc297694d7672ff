//! API Gateway events that lambda_http alone would abort on (its URI building `unwrap`s):
//! the binary's conversion (`request_from_event`) takes them, and the webhook answers them
//! as any other request. The first was found by the `apigw_request` fuzz target.

mod support;

use call_events::entrypoints::http::{WebhookHandler, request_from_event};
use call_events::record::CallEventRecorder;
use call_events::signature::{Secret, Verifier};
use call_events::store::MemoryLeadStore;
use serde_json::Value;
use support::aws::{LOCAL_SECRET, resign, sample};

fn crash_input() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/apigw-event-with-invalid-host.json"
    );
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
    let mut events = vec![crash_input()];
    let mut bad_proto = sample("02-call-received.json");
    bad_proto["headers"]["x-forwarded-proto"] = Value::from("ht tp");
    events.push(bad_proto);
    let mut bad_path = sample("02-call-received.json");
    bad_path["rawPath"] = Value::from("/call events{}");
    bad_path["rawQueryString"] = Value::from("a=%%");
    events.push(bad_path);
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
