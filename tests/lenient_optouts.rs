//! Opt-outs are read leniently (docs/contract.md §2, §3): an authentic body whose event
//! type, phone and DNC signal can be read commits that signal for the register even when
//! another field breaks a rule; the body is still quarantined, and the answer says the
//! signal was kept. Through the webhook's own handler, on the in-memory adapters, then the
//! relay.

mod support;

use call_events::adapters::MemoryPublisher;
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore};
use call_events::core::signature::{Secret, Verifier};
use call_events::entrypoints::http::WebhookHandler;
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::relay::Relay;
use proptest::prelude::*;
use serde_json::Value;
use support::aws::{LOCAL_SECRET, request, signed};

const PHONE: &str = "+12025550177";

struct Outcome {
    status: u16,
    answer: Value,
    registered: bool,
    quarantined: usize,
    dnc_requests: usize,
}

/// Delivers `body`, signed, to the webhook; relays what it committed; says what happened.
async fn deliver(body: &str) -> Outcome {
    let store = MemoryLeadStore::new();
    let webhook = WebhookHandler::new(
        Verifier::new(vec![Secret::new(LOCAL_SECRET).unwrap()], 300),
        CallEventRecorder::new(store.clone()),
    );
    let (response, _) = webhook.respond(&request(&signed(body))).await;
    let status = response.status().as_u16();
    let answer: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let changes = support::changes(&store);
    let publisher = MemoryPublisher::new();
    let register = MemoryDncRegister::new();
    let report = Relay::new(publisher.clone(), register.clone(), store.clone())
        .relay(&changes, support::budget())
        .await;
    assert_eq!(report.retry_from, None);
    Outcome {
        status,
        answer,
        registered: register.item(PHONE).is_some(),
        quarantined: publisher.quarantined().len(),
        dnc_requests: publisher
            .sent()
            .iter()
            .filter(|m| m.message_type == "dnc.requested")
            .count(),
    }
}

#[tokio::test]
async fn key_9_with_an_unknown_call_type_is_quarantined_and_its_opt_out_kept() {
    let body = support::body(
        "lead.call_key_pressed",
        "spring",
        "2024-01-28T12:00:00Z",
        PHONE,
        r#""callType":"robocall","keypressNumber":"9""#,
    );
    let outcome = deliver(&body).await;
    assert_eq!(outcome.status, 200);
    assert_eq!(outcome.answer["status"], "quarantined");
    assert_eq!(
        outcome.answer["reason"],
        "data.callType: must be one of inbound, scheduled, unscheduled"
    );
    assert_eq!(outcome.answer["effects"], serde_json::json!(["dnc"]));
    assert!(outcome.registered, "the opt-out reached the register");
    assert_eq!(outcome.dnc_requests, 1, "and its one request left");
    assert_eq!(
        outcome.quarantined, 1,
        "the body is on the quarantine queue"
    );
}

#[tokio::test]
async fn call_result_dnc_with_is_scheduled_no_is_quarantined_and_its_opt_out_kept() {
    let body = support::body(
        "lead.call_ended",
        "spring",
        "2024-01-28T12:00:00Z",
        PHONE,
        r#""callType":"inbound","callResult":"dnc","isScheduled":"no""#,
    );
    let outcome = deliver(&body).await;
    assert_eq!(
        (outcome.status, outcome.answer["status"].as_str()),
        (200, Some("quarantined"))
    );
    assert_eq!(outcome.answer["effects"], serde_json::json!(["dnc"]));
    assert!(outcome.registered);
    assert_eq!((outcome.dnc_requests, outcome.quarantined), (1, 1));
}

#[tokio::test]
async fn a_broken_body_without_a_signal_is_quarantined_and_claims_none() {
    let body = support::body(
        "lead.call_key_pressed",
        "spring",
        "2024-01-28T12:00:00Z",
        PHONE,
        r#""callType":"robocall","keypressNumber":"1""#,
    );
    let outcome = deliver(&body).await;
    assert_eq!(outcome.answer["status"], "quarantined");
    assert!(outcome.answer.get("effects").is_none());
    assert!(!outcome.registered);
    assert_eq!((outcome.dnc_requests, outcome.quarantined), (0, 1));
}

#[tokio::test]
async fn a_campaign_id_starting_with_hash_breaks_a_field_rule() {
    let body = support::body(
        "lead.call_received",
        "#dnc-signal#evt_1",
        "2024-01-28T12:00:00Z",
        PHONE,
        "",
    );
    let outcome = deliver(&body).await;
    assert_eq!(outcome.answer["status"], "quarantined");
    assert!(
        outcome.answer["reason"]
            .as_str()
            .unwrap()
            .starts_with("metadata.campaignId: must be a string that does not start with `#`"),
        "{}",
        outcome.answer
    );
}

/// One field of a generated body: a valid value, an invalid one, or none.
#[derive(Debug, Clone, Copy)]
enum Field {
    Valid,
    Invalid,
    Absent,
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Valid),
        Just(Field::Invalid),
        Just(Field::Absent)
    ]
}

#[derive(Debug, Clone)]
struct Shape {
    legacy: bool,
    event_type: &'static str,
    phone: Field,
    /// `9` when valid; `1` when invalid (a key that is no signal); `9` as a number when...
    /// absent.
    key: Option<&'static str>,
    call_result: Option<&'static str>,
    call_type: Field,
    is_scheduled: Field,
    event_time: Field,
    campaign: Field,
    dnc_timestamp: Field,
    not_json: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        any::<bool>(),
        prop::sample::select(vec![
            "lead.call_key_pressed",
            "lead.call_ended",
            "dnc.created",
            "lead.call_received",
            "lead.message_received",
        ]),
        field(),
        prop::option::of(prop::sample::select(vec!["9", "1", "#"])),
        prop::option::of(prop::sample::select(vec!["dnc", "transfer", "DNC"])),
        (field(), field(), field(), field(), field()),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(legacy, event_type, phone, key, call_result, fields, not_json)| {
                let (call_type, is_scheduled, event_time, campaign, dnc_timestamp) = fields;
                Shape {
                    legacy,
                    event_type,
                    phone,
                    key,
                    call_result,
                    call_type,
                    is_scheduled,
                    event_time,
                    campaign,
                    dnc_timestamp,
                    not_json,
                }
            },
        )
}

fn put(
    object: &mut serde_json::Map<String, Value>,
    name: &str,
    field: Field,
    valid: Value,
    invalid: Value,
) {
    match field {
        Field::Valid => {
            object.insert(name.into(), valid);
        }
        Field::Invalid => {
            object.insert(name.into(), invalid);
        }
        Field::Absent => {}
    }
}

impl Shape {
    fn body(&self) -> String {
        let mut data = serde_json::Map::new();
        let phone_name = if self.legacy { "phoneNumber" } else { "phone" };
        put(
            &mut data,
            phone_name,
            self.phone,
            PHONE.into(),
            "2025550177".into(),
        );
        if let Some(key) = self.key {
            data.insert("keypressNumber".into(), key.into());
        }
        if let Some(result) = self.call_result {
            data.insert("callResult".into(), result.into());
        }
        put(
            &mut data,
            "callType",
            self.call_type,
            "inbound".into(),
            "robocall".into(),
        );
        put(
            &mut data,
            "isScheduled",
            self.is_scheduled,
            false.into(),
            "no".into(),
        );
        put(
            &mut data,
            "dncTimestamp",
            self.dnc_timestamp,
            "2024-01-28T12:00:00.000Z".into(),
            "yesterday".into(),
        );
        let body = if self.legacy {
            serde_json::json!({"apiVersion": "2021-08-23", "type": self.event_type, "data": data})
        } else {
            let mut metadata = serde_json::Map::new();
            metadata.insert("eventType".into(), self.event_type.into());
            put(
                &mut metadata,
                "campaignId",
                self.campaign,
                "spring".into(),
                "".into(),
            );
            put(
                &mut metadata,
                "eventTime",
                self.event_time,
                "2024-01-28T12:00:00Z".into(),
                "noon".into(),
            );
            serde_json::json!({"metadata": metadata, "data": data})
        };
        let text = body.to_string();
        match self.not_json {
            true => text[..text.len() - 1].to_owned(),
            false => text,
        }
    }

    /// The rule of docs/contract.md §3, written out again from the shape (not from the
    /// code).
    fn carries_a_readable_signal(&self) -> bool {
        let signal = match (self.legacy, self.event_type) {
            (false, "lead.call_key_pressed") => self.key == Some("9"),
            (false, "lead.call_ended") => self.call_result == Some("dnc"),
            (_, "dnc.created") => true,
            _ => false,
        };
        !self.not_json && signal && matches!(self.phone, Field::Valid)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_body_that_carries_a_readable_signal_registers_it_and_no_other_body_does(shape in shape()) {
        let body = shape.body();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let outcome = runtime.block_on(deliver(&body));
        let expected = shape.carries_a_readable_signal();
        prop_assert_eq!(outcome.status, 200, "{}", outcome.answer);
        prop_assert_eq!(outcome.registered, expected, "{} -> {}", body, outcome.answer);
        prop_assert_eq!(outcome.dnc_requests, usize::from(expected));
        let claims_dnc = outcome.answer["effects"]
            .as_array()
            .is_some_and(|effects| effects.iter().any(|e| e == "dnc"));
        prop_assert_eq!(claims_dnc, expected, "the answer says so: {}", outcome.answer);
    }
}
