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
    ApiHandler::new(register.clone(), register, Duration::from_secs(5))
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
    let a = ApiHandler::new(register.clone(), register, Duration::from_secs(1))
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
        let handler = ApiHandler::new(broken, MemoryDncRegister::new(), Duration::from_secs(5));
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
    let (answer, log) = ApiHandler::new(register.clone(), register, Duration::from_secs(5))
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

fn record_event(principal: Option<&str>, body: &str) -> ApiEvent {
    let mut event = json!({
        "version": "2.0",
        "rawPath": "/v1/opt-outs",
        "body": body,
        "requestContext": {
            "requestId": "req-rec",
            "http": { "method": "POST", "path": "/v1/opt-outs", "sourceIp": "10.1.2.3" },
        }
    });
    if let Some(principal) = principal {
        event["requestContext"]["authorizer"] = json!({ "iam": { "userArn": principal } });
    }
    ApiEvent::read(event)
}

const AGENT_DESK: &str = "arn:aws:sts::123456789012:assumed-role/agent-desk/session";

#[tokio::test]
async fn an_agent_s_opt_out_is_on_the_register_before_the_answer_and_a_retry_adds_nothing() {
    let register = MemoryDncRegister::new();
    let handler = ApiHandler::new(register.clone(), register.clone(), Duration::from_secs(5));
    let body = r#"{"phone":"(202) 555-0177","channel":"agent","occurredAt":"2026-12-01T15:04:05Z","reference":"call-8812","note":"said never call again"}"#;
    let (answer, _) = handler.respond(&record_event(Some(AGENT_DESK), body)).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({
            "phone": "+12025550177",
            "onRegister": true,
            "dncAt": "2026-12-01T15:04:05.000Z",
            "requestState": "pending",
        })
    );
    // Read by the next GET.
    let (lookup, _) = handler
        .respond(&event("GET", "/v1/opt-outs/+12025550177", None))
        .await;
    assert_eq!(lookup.body["onRegister"], json!(true));
    assert_eq!(lookup.body["kinds"], json!(["api"]));
    // The evidence: who recorded it, where, the exact body, the request.
    let item = register.item("+12025550177").unwrap();
    let evidence = item["evidence"].as_m().unwrap();
    let text = |name: &str| evidence[name].as_s().unwrap().clone();
    assert_eq!(text("kind"), "api");
    assert_eq!(text("principal"), AGENT_DESK);
    assert_eq!(text("channel"), "agent");
    assert_eq!(text("reference"), "call-8812");
    assert_eq!(text("body"), body);
    assert_eq!(text("sourceIp"), "10.1.2.3");
    assert_eq!(text("requestId"), "req-rec");
    assert_eq!(item["reason"].as_s().unwrap(), "opt_out");

    // The same principal and reference again (another body, even): the same answer,
    // nothing added.
    let again = r#"{"phone":"+12025550177","channel":"agent","reference":"call-8812"}"#;
    let (retry, _) = handler
        .respond(&record_event(Some(AGENT_DESK), again))
        .await;
    assert_eq!(retry, answer);
    assert_eq!(register.item("+12025550177").unwrap(), item);
    // Another service's reference of the same name is its own signal.
    let other = "arn:aws:sts::123456789012:assumed-role/sms-bridge/session";
    let (second, _) = handler.respond(&record_event(Some(other), again)).await;
    assert_eq!(second.status, 202);
    assert_eq!(
        register.item("+12025550177").unwrap()["signals"]
            .as_n()
            .unwrap(),
        "2"
    );
}

#[tokio::test]
async fn an_opt_out_without_a_principal_or_with_a_bad_field_keeps_nothing() {
    let register = MemoryDncRegister::new();
    let handler = ApiHandler::new(register.clone(), register.clone(), Duration::from_secs(5));
    let good = r#"{"phone":"+12025550178","channel":"sms","reference":"r-1"}"#;
    let (answer, _) = handler.respond(&record_event(None, good)).await;
    assert_eq!(
        (answer.status, answer.body),
        (403, json!({"error": "no_principal"}))
    );
    for (body, field) in [
        (
            r#"{"phone":"+12025550178","channel":"fax","reference":"r-1"}"#,
            "channel",
        ),
        (r#"{"phone":"+12025550178","channel":"sms"}"#, "reference"),
        (
            r#"{"phone":"nope","channel":"sms","reference":"r-1"}"#,
            "phone",
        ),
    ] {
        let (answer, _) = handler.respond(&record_event(Some(AGENT_DESK), body)).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.body["field"], json!(field), "{body}");
    }
    assert!(register.item("+12025550178").is_none());
}

mod any_order {
    use call_events::core::api_request::{Channel, OptOutRequest};
    use call_events::core::domain::{EventId, Phone, Timestamp};
    use call_events::core::lead::{DncSignal, SignalSource};
    use call_events::core::register::{
        DncReason, DncSignalRecord, Evidence, RegisterEntry, Registered, RequestState, register,
    };
    use call_events::usecases::opt_out::{Caller, opt_out_signal};
    use call_events_messages::{ImportedKind, Provenance};
    use proptest::prelude::*;

    const PHONE: &str = "+12025550190";

    fn at(minute: u32) -> Timestamp {
        Timestamp::parse(&format!("2026-11-02T10:{minute:02}:00Z")).unwrap()
    }

    fn signal(reason: DncReason, minute: u32, id: &str) -> DncSignal {
        DncSignal {
            phone: Phone::parse(PHONE).unwrap(),
            campaign_id: None,
            external_lead_id: None,
            reason,
            at: at(minute),
            source: SignalSource {
                event_time: at(minute),
                event_id: EventId::from_stored(id.into()),
            },
        }
    }

    fn three(signed: u32, imported: u32, api: u32) -> [DncSignalRecord; 3] {
        let platform = DncSignalRecord::new(
            &signal(
                DncReason::Keypress9,
                signed,
                "evt_00000000000000000000000000000001",
            ),
            Evidence::of_request(at(signed).to_rfc3339(), "t=1,v2=00".into(), b"{}"),
        );
        let import = DncSignalRecord {
            signal: signal(
                DncReason::Imported,
                imported,
                "imp_00000000000000000000000000000002",
            ),
            evidence: Provenance {
                kind: ImportedKind::Imported,
                source: "crm".into(),
                file_sha256: "0".repeat(64),
                line: 2,
                line_text: PHONE.into(),
                imported_at: at(59).to_rfc3339(),
            }
            .into(),
        };
        let request = OptOutRequest {
            phone: Phone::parse(PHONE).unwrap(),
            channel: Channel::Agent,
            occurred_at: Some(at(api)),
            reference: "ref-1".into(),
            note: None,
        };
        let caller = Caller {
            principal: "arn:aws:iam::123456789012:user/desk".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "r".into(),
        };
        let recorded = opt_out_signal(&request, &caller, b"{}", at(59));
        [platform, import, recorded]
    }

    proptest! {
        /// A signed platform signal, an import and an API opt-out of one phone: the earliest
        /// first in any order, each counted once, a request owed, the signed one kept.
        #[test]
        fn the_earliest_stays_first_whatever_the_order(
            minutes in (0u32..5, 0u32..5, 0u32..5),
            order in Just([0usize, 1, 2]).prop_shuffle(),
            twice in any::<bool>(),
        ) {
            let signals = three(minutes.0, minutes.1, minutes.2);
            let mut entry: Option<RegisterEntry> = None;
            let mut fed: Vec<usize> = order.to_vec();
            if twice {
                fed.extend(order.iter().rev());
            }
            for i in fed {
                entry = Some(match register(entry.as_ref(), &signals[i], at(59)) {
                    Registered::Changed(e) | Registered::Known(e) => e,
                });
            }
            let entry = entry.unwrap();
            let earliest = signals.iter().min_by(|a, b| a.order().cmp(&b.order())).unwrap();
            prop_assert_eq!(&entry.first, earliest);
            prop_assert_eq!(entry.signals, 3);
            let pending = matches!(entry.request, RequestState::Pending { .. });
            prop_assert!(pending, "a request is owed");
            if !entry.first.is_signed() {
                prop_assert_eq!(entry.signed.as_ref(), Some(&signals[0]));
            }
        }
    }
}
