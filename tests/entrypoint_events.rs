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

/// Which 401s count toward `WrongSignatures` (the `UnauthorizedBurstAlarm`, docs/contract.md
/// §7): a signature that could be the platform's (another secret, a stale time, a `v1`
/// the configuration refuses), never a scanner's missing or malformed header.
#[tokio::test]
async fn only_signatures_that_could_be_the_platforms_count_as_wrong() {
    use call_events::core::signature::{sign_v1, sign_v2};
    let event = sample("02-call-received.json");
    let body = support::aws::raw_body(&event);
    let now = chrono::Utc::now().timestamp_millis();
    let ours = Secret::new(LOCAL_SECRET).unwrap();
    let theirs = Secret::new("someone-elses-secret-0123").unwrap();
    let cases = [
        ("no header", None, false),
        ("malformed", Some("garbage".to_owned()), false),
        ("another secret", Some(sign_v2(&theirs, now, &body)), true),
        ("stale", Some(sign_v2(&ours, now - 3_600_000, &body)), true),
        ("v1, refused", Some(sign_v1(&ours, now, &body)), true),
    ];
    let handler = WebhookHandler::new(
        Verifier::new(vec![ours.clone()], 300).refusing_v1(),
        CallEventRecorder::new(MemoryLeadStore::new()),
    );
    for (what, header, wrong) in cases {
        let mut event = event.clone();
        match &header {
            Some(header) => support::aws::set_signature(&mut event, header),
            None => {
                event["headers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("aktify-signature");
            }
        }
        let request = lambda_http::Request::from(request_from_event(event).unwrap());
        let (response, report) = handler.respond(&request).await;
        assert_eq!(response.status().as_u16(), 401, "{what}");
        assert_eq!(report.wrong_signature, wrong, "{what}");
    }
}
