//! The register's read routes (docs/contract.md §9) on moto, through the real SDK and the
//! function's own wiring: a check of 100 phones behind the fault proxy (`UnprocessedKeys`,
//! throttling) answers every phone as the register holds it, and a register that never
//! answers is a `503`, never a phone reported callable.

mod support;

use std::time::{Duration, Instant};

use call_events::adapters::DynamoDncRegister;
use call_events::entrypoints::api::{ApiEvent, ApiHandler};
use call_events::usecases::ask::DEADLINE;
use serde_json::json;
use support::aws::TestAws;
use support::fault_proxy::{Fault, FaultProxy};
use support::register::put_key9_entries;

fn check(phones: &[String]) -> ApiEvent {
    let body = json!({ "phones": phones }).to_string();
    ApiEvent::read(json!({
        "version": "2.0",
        "routeKey": "POST /v1/opt-outs/check",
        "rawPath": "/v1/opt-outs/check",
        "body": body,
        "isBase64Encoded": false,
        "requestContext": {
            "requestId": "req-check",
            "http": { "method": "POST", "path": "/v1/opt-outs/check" },
            "authorizer": { "iam": { "userArn": "arn:aws:iam::123456789012:user/dialer" } }
        }
    }))
}

#[tokio::test]
async fn a_check_of_100_phones_behind_unprocessed_keys_and_throttling_answers_each_phone() {
    let aws = TestAws::new().await;
    let phones: Vec<String> = (0..100)
        .map(|i| format!("+1303555{:04}", 2000 + i))
        .collect();
    let listed: Vec<String> = phones.iter().step_by(4).cloned().collect();
    put_key9_entries(&aws, &listed, "api").await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.endpoint);
    let register = DynamoDncRegister::new(
        aws_sdk_dynamodb::Client::from_conf(conf.build()),
        &aws.resources.dnc_table_name,
    );
    let api = ApiHandler::new(register, DEADLINE);
    let event = check(&phones);

    proxy.inject(&[
        Fault::Unprocessed,
        Fault::Throttle,
        Fault::Unprocessed,
        Fault::Unprocessed,
    ]);
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    for (phone, result) in phones.iter().zip(results) {
        assert_eq!(result["phone"], json!(phone));
        assert_eq!(
            result["onRegister"],
            json!(listed.contains(phone)),
            "{phone}"
        );
    }
    assert!(
        results[0]["kinds"] == json!(["signed"]) && results[0]["requestState"] == json!("sent")
    );
    let operations = proxy.operations();
    assert!(
        operations.iter().all(|op| op.ends_with(".BatchGetItem")),
        "reads only: {operations:?}"
    );
    assert!(operations.len() >= 5, "the faults were met: {operations:?}");

    // A register that never answers every key: the whole answer is a 503, in time.
    proxy.break_with(Fault::Unprocessed);
    let started = Instant::now();
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body, json!({"error": "backend_unavailable"}));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Throttled on every attempt: the same.
    proxy.break_with(Fault::Throttle);
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    proxy.heal();
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 200);
}
