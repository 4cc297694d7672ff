//! The register's read routes (docs/contract.md §9), on the in-memory register: what a
//! dialer asks and what it is answered, and that a phone the register did not answer for is
//! never called callable.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use call_events::adapters::MemoryDncRegister;
use call_events::adapters::dynamodb::register::register_item;
use call_events::core::domain::Phone;
use call_events::core::register::{Evidence, RegisterEntry};
use call_events::entrypoints::api::{Answer, ApiEvent, ApiHandler};
use call_events::ports::{BackendError, Listed, RegisterLookup};
use serde_json::{Value, json};
use support::register::key9_entry;

const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/dialer/i-0abc";

fn event(method: &str, path: &str, body: Option<&str>) -> ApiEvent {
    ApiEvent::read(json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "body": body,
        "isBase64Encoded": false,
        "requestContext": {
            "requestId": "req-1",
            "http": { "method": method, "path": path, "sourceIp": "10.0.0.1" },
            "authorizer": { "iam": { "userArn": CALLER } }
        }
    }))
}

fn on_register(register: &MemoryDncRegister, phone: &str) {
    let evidence =
        Evidence::of_request("2024-01-26T12:00:01.000Z".into(), "t=1,v2=00".into(), b"{}");
    let entry = key9_entry(
        phone,
        "spring",
        "2024-01-26T12:00:00.000Z",
        "evt_1",
        evidence,
    );
    let item = register_item(&Phone::parse(phone).unwrap(), &entry, 1).unwrap();
    register.put_raw(phone, item);
}

async fn answer(register: MemoryDncRegister, event: &ApiEvent) -> Answer {
    ApiHandler::new(register, Duration::from_secs(5))
        .respond(event)
        .await
        .0
}

#[tokio::test]
async fn a_phone_on_the_register_and_one_not_on_it() {
    let register = MemoryDncRegister::new();
    on_register(&register, "+12025550100");
    let on = answer(
        register.clone(),
        &event("GET", "/v1/opt-outs/+12025550100", None),
    )
    .await;
    assert_eq!(on.status, 200);
    assert_eq!(
        on.body,
        json!({
            "phone": "+12025550100",
            "onRegister": true,
            "dncAt": "2024-01-26T12:00:00.000Z",
            "kinds": ["signed"],
            "requestState": "sent",
        })
    );
    // Encoded, or national: the same phone.
    for path in [
        "/v1/opt-outs/%2B12025550100",
        "/v1/opt-outs/(202)%20555-0100",
    ] {
        let again = answer(register.clone(), &event("GET", path, None)).await;
        assert_eq!(again, on, "{path}");
    }
    let off = answer(register, &event("GET", "/v1/opt-outs/+12025550101", None)).await;
    assert_eq!(off.status, 200);
    assert_eq!(
        off.body,
        json!({"phone": "+12025550101", "onRegister": false})
    );
}

#[tokio::test]
async fn a_check_answers_each_phone_in_its_order() {
    let register = MemoryDncRegister::new();
    let phones: Vec<String> = (0..100)
        .map(|i| format!("+1202555{:04}", 1000 + i))
        .collect();
    for phone in phones.iter().step_by(3) {
        on_register(&register, phone);
    }
    let mut asked = phones.clone();
    asked[99] = phones[0].clone(); // asked twice: answered twice
    let body = json!({ "phones": asked }).to_string();
    let answer = answer(register, &event("POST", "/v1/opt-outs/check", Some(&body))).await;
    assert_eq!(answer.status, 200);
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    for (i, result) in results.iter().enumerate() {
        let phone = &asked[i];
        let listed = phones.iter().position(|p| p == phone).unwrap() % 3 == 0;
        assert_eq!(result["phone"], json!(phone));
        assert_eq!(result["onRegister"], json!(listed), "{phone}");
    }
}

#[tokio::test]
async fn bad_questions_are_answered_400_naming_the_field_and_other_routes_404() {
    let register = MemoryDncRegister::new();
    for (method, path, body, status, expected) in [
        (
            "GET",
            "/v1/opt-outs/not-a-phone",
            None,
            400,
            json!({"error": "invalid_field", "field": "phone"}),
        ),
        (
            "POST",
            "/v1/opt-outs/check",
            Some("{"),
            400,
            json!({"error": "invalid_json"}),
        ),
        (
            "POST",
            "/v1/opt-outs/check",
            Some(r#"{"phones": []}"#),
            400,
            json!({"error": "invalid_field", "field": "phones"}),
        ),
        (
            "POST",
            "/v1/opt-outs/check",
            Some(r#"{"phones": ["+12025550100", "x"]}"#),
            400,
            json!({"error": "invalid_field", "field": "phones[1]"}),
        ),
        (
            "GET",
            "/v1/opt-outs/check",
            None,
            405,
            json!({"error": "method_not_allowed"}),
        ),
        (
            "GET",
            "/v1/elsewhere",
            None,
            404,
            json!({"error": "not_found"}),
        ),
        (
            "DELETE",
            "/v1/opt-outs/+12025550100",
            None,
            404,
            json!({"error": "not_found"}),
        ),
    ] {
        let a = answer(register.clone(), &event(method, path, body)).await;
        assert_eq!((a.status, &a.body), (status, &expected), "{method} {path}");
    }
    // Any event at all is answered, never a panic.
    let a = ApiHandler::new(register, Duration::from_secs(1))
        .respond(&ApiEvent::read(json!([1, 2, 3])))
        .await
        .0;
    assert_eq!(a.status, 404);
}

/// A register that fails, or never answers.
struct Broken(Option<Duration>);

impl RegisterLookup for Broken {
    async fn listed(&self, _: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        match self.0 {
            Some(hang) => {
                tokio::time::sleep(hang).await;
                Ok(HashMap::new())
            }
            None => Err(BackendError::new("memory BatchGetItem", "injected outage")),
        }
    }

    async fn known_signals(
        &self,
        _: &[Phone],
    ) -> Result<HashMap<String, Vec<String>>, BackendError> {
        unreachable!()
    }

    async fn entries(
        &self,
        _: &[Phone],
    ) -> Result<HashMap<String, (RegisterEntry, u64)>, BackendError> {
        unreachable!()
    }
}

#[tokio::test(start_paused = true)]
async fn a_register_that_fails_or_does_not_answer_in_time_is_a_503_never_a_callable_phone() {
    let check = json!({"phones": ["+12025550100", "+12025550101"]}).to_string();
    for broken in [Broken(None), Broken(Some(Duration::from_secs(60)))] {
        let handler = ApiHandler::new(broken, Duration::from_secs(5));
        for event in [
            event("GET", "/v1/opt-outs/+12025550100", None),
            event("POST", "/v1/opt-outs/check", Some(&check)),
        ] {
            let (answer, log) = handler.respond(&event).await;
            assert_eq!(answer.status, 503);
            assert_eq!(answer.body, json!({"error": "backend_unavailable"}));
            assert!(
                !answer.body.to_string().contains("injected"),
                "nothing internal"
            );
            assert_eq!(log["status"], json!(503));
        }
    }
}

#[tokio::test]
async fn the_answer_is_api_gateway_s_and_the_log_names_the_caller() {
    let register = MemoryDncRegister::new();
    let (answer, log) = ApiHandler::new(register, Duration::from_secs(5))
        .respond(&event("GET", "/v1/opt-outs/+12025550100", None))
        .await;
    let response = answer.into_response();
    assert_eq!(response["statusCode"], json!(200));
    assert_eq!(
        response["headers"]["content-type"],
        json!("application/json")
    );
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["onRegister"], json!(false));
    assert_eq!(log["caller"], json!(CALLER));
    assert_eq!(log["requestId"], json!("req-1"));
    assert_eq!(log["phones"], json!(1));
}
