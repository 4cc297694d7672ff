//! The function end to end on a real local AWS (moto): every row of the contract's HTTP
//! table, the lead item, and the queue messages.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;

use serde_json::{Value, json};
use support::aws::{
    LOCAL_SECRET, TestAws, attribute, body_json, deliver, n, raw_body, resign, s, sample,
    set_signature, signed,
};
use support::body;

const CAMPAIGN: &str = "spring-campaign";

fn fresh(name: &str) -> Value {
    resign(sample(name), LOCAL_SECRET)
}

#[tokio::test]
async fn sample_events_give_the_items_and_messages_the_contract_predicts() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let expected_effects = [
        ("01-call-initiated.json", json!([])),
        ("02-call-received.json", json!([])),
        ("03-call-key-pressed-1.json", json!([])),
        ("04-call-transferred.json", json!([])),
        ("05-call-ended-transfer.json", json!([])),
        ("06-call-key-pressed-2.json", json!([])),
        ("07-call-scheduled.json", json!(["callback"])),
        ("08-call-ended-reschedule.json", json!([])),
        ("09-call-key-pressed-9.json", json!(["dnc"])),
        // A second DNC signal of the lead: still a signal for the register.
        ("10-call-ended-dnc.json", json!(["dnc"])),
        ("11-call-ended-no-response.json", json!([])),
        ("12-rest-v1-call-initiated.json", json!([])),
        ("13-base64-call-received.json", json!([])),
    ];
    for (name, effects) in expected_effects {
        let (status, answer) = deliver(&handler, &fresh(name)).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["status"], "processed", "{name}: {answer}");
        assert_eq!(answer["effects"], effects, "{name}");
        assert!(answer["eventId"].as_str().unwrap().starts_with("evt_"));
    }

    // Lead A: initiated, key 1, transferred, ended with transfer.
    let a = aws.item("+12025550101", CAMPAIGN).await.unwrap();
    assert_eq!(s(&a, "status").as_deref(), Some("transferred"));
    assert_eq!(s(&a, "externalLeadId").as_deref(), Some("crm-1001"));
    assert_eq!(s(&a, "lastEventType").as_deref(), Some("lead.call_ended"));
    assert_eq!(
        s(&a, "lastEventTime").as_deref(),
        Some("2024-01-28T12:03:00.000Z")
    );
    assert_eq!(s(&a, "lastCallType").as_deref(), Some("unscheduled"));
    assert_eq!(s(&a, "lastCallResult").as_deref(), Some("transfer"));
    assert_eq!(s(&a, "lastKeypress").as_deref(), Some("1"));
    assert_eq!(s(&a, "transferredTo").as_deref(), Some("+12025550199"));
    for (counter, value) in [
        ("callsInitiated", 1),
        ("callsReceived", 0),
        ("callsEnded", 1),
        ("callsTransferred", 1),
        ("keypresses", 1),
    ] {
        assert_eq!(n(&a, counter), Some(value), "{counter}");
    }
    assert_eq!(a.get("dnc").and_then(|v| v.as_bool().ok()), Some(&false));
    assert!(s(&a, "updatedAt").is_some());
    assert!(n(&a, "version").is_some());

    // Lead B: key 2, callback scheduled, ended with reschedule.
    let b = aws.item("+12025550102", CAMPAIGN).await.unwrap();
    assert_eq!(s(&b, "status").as_deref(), Some("reschedule_requested"));
    assert_eq!(
        s(&b, "scheduledCallbackTime").as_deref(),
        Some("2024-01-29T15:30:00.000Z")
    );

    // Lead C: key 9, then ended with dnc: DNC once, the earliest event decides dncAt.
    let c = aws.item("+12025550103", CAMPAIGN).await.unwrap();
    assert_eq!(s(&c, "status").as_deref(), Some("dnc"));
    assert_eq!(c.get("dnc").and_then(|v| v.as_bool().ok()), Some(&true));
    assert_eq!(s(&c, "dncAt").as_deref(), Some("2024-01-28T12:01:00.000Z"));
    assert_eq!(s(&c, "dncReason").as_deref(), Some("keypress_9"));
    assert!(!c.contains_key("externalLeadId"));

    // Lead D: REST v1 initiated, base64 received, ended with no response.
    let d = aws.item("+12025550104", CAMPAIGN).await.unwrap();
    assert_eq!(s(&d, "status").as_deref(), Some("no_response"));
    assert_eq!(
        (n(&d, "callsInitiated"), n(&d, "callsReceived")),
        (Some(1), Some(1))
    );

    // Lead E: received, with a null externalLeadId.
    let e = aws.item("+12025550105", CAMPAIGN).await.unwrap();
    assert_eq!(s(&e, "status").as_deref(), Some("in_call"));
    assert!(!e.contains_key("externalLeadId"));

    let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
    assert_eq!(callbacks.len(), 1);
    let callback = body_json(&callbacks[0]);
    assert_eq!(callback["type"], "callback.scheduled");
    assert_eq!(callback["schemaVersion"], 1);
    assert_eq!(callback["phone"], "+12025550102");
    assert_eq!(callback["externalLeadId"], "crm-1002");
    assert_eq!(callback["campaignId"], CAMPAIGN);
    assert_eq!(callback["scheduledTime"], "2024-01-29T15:30:00.000Z");
    assert_eq!(callback["source"]["eventType"], "lead.call_scheduled");
    assert_eq!(
        attribute(&callbacks[0], "type").as_deref(),
        Some("callback.scheduled")
    );
    assert_eq!(
        attribute(&callbacks[0], "campaignId").as_deref(),
        Some(CAMPAIGN)
    );

    assert_eq!(dnc.len(), 1);
    let request = body_json(&dnc[0]);
    assert_eq!(request["type"], "dnc.requested");
    assert_eq!(request["phone"], "+12025550103");
    assert_eq!(request["reason"], "keypress_9");
    assert_eq!(request["requestedAt"], "2024-01-28T12:01:00.000Z");
    assert_eq!(request["externalLeadId"], Value::Null);
    assert_eq!(attribute(&dnc[0], "type").as_deref(), Some("dnc.requested"));
    assert!(quarantine.is_empty());
}

#[tokio::test]
async fn fifo_messages_are_grouped_by_phone_and_deduplicated_by_message_id() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    deliver(&handler, &fresh("09-call-key-pressed-9.json")).await;
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1);
    let system = dnc[0].attributes().unwrap();
    let get = |name: &str| {
        system
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("MessageGroupId").as_deref(), Some("+12025550103"));
    assert_eq!(
        get("MessageDeduplicationId"),
        body_json(&dnc[0])["id"].as_str().map(str::to_owned)
    );
}

#[tokio::test]
async fn redelivery_is_a_duplicate_and_adds_no_message() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let (_, first) = deliver(&handler, &fresh("07-call-scheduled.json")).await;
    let version = n(
        &aws.item("+12025550102", CAMPAIGN).await.unwrap(),
        "version",
    );
    let (status, again) = deliver(&handler, &fresh("07-call-scheduled.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        again,
        json!({"status": "duplicate", "eventId": first["eventId"]})
    );
    assert_eq!(
        n(
            &aws.item("+12025550102", CAMPAIGN).await.unwrap(),
            "version"
        ),
        version
    );
    assert_eq!(aws.drain(&aws.resources.queues.callback).await.len(), 1);
}

#[tokio::test]
async fn key_9_then_call_result_dnc_gives_two_signals_and_one_dnc_message() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let (_, key9) = deliver(&handler, &fresh("09-call-key-pressed-9.json")).await;
    let (_, ended) = deliver(&handler, &fresh("10-call-ended-dnc.json")).await;
    assert_eq!(
        (key9["effects"].clone(), ended["effects"].clone()),
        (json!(["dnc"]), json!(["dnc"]))
    );
    assert_eq!(aws.drain(&aws.resources.queues.dnc).await.len(), 1);
    let register = aws.register_item("+12025550103").await.unwrap();
    assert_eq!(n(&register, "signals"), Some(2));
    assert_eq!(s(&register, "reason").as_deref(), Some("keypress_9"));
}

#[tokio::test]
async fn call_scheduled_after_dnc_gives_no_callback() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let phone = "+12025550177";
    let key9 = body(
        "lead.call_key_pressed",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    );
    let scheduled = body(
        "lead.call_scheduled",
        CAMPAIGN,
        "2024-01-28T12:05:00Z",
        phone,
        r#""scheduledTime":"2024-01-29T12:00:00Z""#,
    );
    deliver(&handler, &signed(&key9)).await;
    let (status, answer) = deliver(&handler, &signed(&scheduled)).await;
    assert_eq!(
        (status, answer["status"].clone(), answer["effects"].clone()),
        (200, json!("processed"), json!([]))
    );
    assert!(aws.drain(&aws.resources.queues.callback).await.is_empty());
    assert_eq!(
        s(&aws.item(phone, CAMPAIGN).await.unwrap(), "status").as_deref(),
        Some("dnc")
    );
}

/// The item without the attributes that depend on when and how often it was written.
fn comparable(mut item: support::aws::Item) -> support::aws::Item {
    // What differs by when and by which call the same state was written.
    item.remove("updatedAt");
    item.remove("version");
    item.remove("writeId");
    // When the outbox began to wait for the relay, and under which write's version each
    // entry waits: what the entries hold is compared, by id.
    item.remove("relayPendingSince");
    item.remove("relayEntry");
    if let Some(outbox) = item.remove("relayOutbox") {
        let mut ids: Vec<String> = outbox
            .as_m()
            .unwrap()
            .values()
            .flat_map(|entry| {
                let entry = entry.as_m().unwrap();
                ["messages", "dncSignals"]
                    .into_iter()
                    .filter_map(|name| entry.get(name))
                    .flat_map(|m| m.as_m().unwrap().keys().cloned().collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        let ids = ids.into_iter().map(AttributeValue::S).collect();
        item.insert("relayOutbox".into(), AttributeValue::L(ids));
    }
    item
}

#[tokio::test]
async fn out_of_order_delivery_with_duplicates_gives_the_same_item_as_in_order() {
    let phone = "+12025550188";
    let at = |m: u32| format!("2024-01-28T12:0{m}:00.000Z");
    let events = [
        body(
            "lead.call_initiated",
            CAMPAIGN,
            &at(0),
            phone,
            r#""externalLeadId":"x1","isScheduled":false"#,
        ),
        body(
            "lead.call_key_pressed",
            CAMPAIGN,
            &at(1),
            phone,
            r#""callType":"unscheduled","keypressNumber":"2""#,
        ),
        body(
            "lead.call_scheduled",
            CAMPAIGN,
            &at(2),
            phone,
            r#""scheduledTime":"2024-01-29T09:00:00Z""#,
        ),
        body(
            "lead.call_ended",
            CAMPAIGN,
            &at(3),
            phone,
            r#""callType":"unscheduled","callResult":"reschedule""#,
        ),
        body(
            "lead.call_key_pressed",
            CAMPAIGN,
            &at(4),
            phone,
            r#""callType":"inbound","keypressNumber":"5""#,
        ),
    ];
    let in_order = TestAws::new().await;
    let handler = in_order.handler().await;
    for e in &events {
        assert_eq!(deliver(&handler, &signed(e)).await.0, 200);
    }
    let shuffled = TestAws::new().await;
    let handler = shuffled.handler().await;
    for i in [4, 2, 2, 0, 3, 1, 4, 0] {
        assert_eq!(deliver(&handler, &signed(&events[i])).await.0, 200);
    }
    let expected = comparable(in_order.item(phone, CAMPAIGN).await.unwrap());
    assert_eq!(
        s(&expected, "status").as_deref(),
        Some("reschedule_requested")
    );
    assert_eq!(n(&expected, "keypresses"), Some(2));
    assert_eq!(
        comparable(shuffled.item(phone, CAMPAIGN).await.unwrap()),
        expected
    );
}

#[tokio::test]
async fn legacy_v1_signature_is_accepted() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let mut event = sample("02-call-received.json");
    let body = raw_body(&event);
    let v1 = {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(LOCAL_SECRET.as_bytes()).unwrap();
        mac.update(&body);
        hex::encode(mac.finalize().into_bytes())
    };
    set_signature(
        &mut event,
        &format!("t={},v1={v1}", chrono::Utc::now().timestamp_millis()),
    );
    let (status, answer) = deliver(&handler, &event).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed"))
    );
}

#[tokio::test]
async fn rotated_secrets_are_all_accepted() {
    let aws = TestAws::new().await;
    let new_secret = "rotated-secret-0123456789";
    let handler = aws.handler_with_secrets(&[new_secret, LOCAL_SECRET]).await;
    let (status, _) = deliver(
        &handler,
        &resign(sample("01-call-initiated.json"), new_secret),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = deliver(
        &handler,
        &resign(sample("02-call-received.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = deliver(
        &handler,
        &resign(
            sample("03-call-key-pressed-1.json"),
            "retired-secret-0123456789",
        ),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn malformed_json_is_quarantined_with_its_raw_body() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let event = fresh("21-malformed-json.json");
    let (status, answer) = deliver(&handler, &event).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("quarantined"))
    );
    assert_eq!(answer["reason"], "body: is not valid JSON");
    let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
    assert!(callbacks.is_empty() && dnc.is_empty());
    assert_eq!(quarantine.len(), 1);
    let record = body_json(&quarantine[0]);
    assert_eq!(
        record["body"].as_str().unwrap().as_bytes(),
        raw_body(&event).as_slice()
    );
    assert_eq!(record["reason"], "body: is not valid JSON");
    assert!(record["receivedAt"].as_str().unwrap().ends_with('Z'));
    // Kept with the header, so a replayed DNC signal still carries its signed proof.
    assert_eq!(
        record["signatureHeader"],
        event["headers"]["aktify-signature"]
    );
    assert!(aws.lead_items().await.is_empty());
}

#[tokio::test]
async fn quarantined_body_is_kept_in_the_table_before_the_answer_without_any_queue() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let event = fresh("21-malformed-json.json");
    assert_eq!(deliver(&handler, &event).await.1["status"], "quarantined");
    // Nothing has been relayed yet: the body is already durable in the table.
    assert!(
        aws.drain_only(&aws.resources.queues.quarantine)
            .await
            .is_empty()
    );
    let items = aws.all_items().await;
    assert_eq!(items.len(), 1);
    let kept = items[0]["quarantine"].as_m().unwrap();
    assert_eq!(
        kept["body"].as_s().unwrap().as_bytes(),
        raw_body(&event).as_slice()
    );
    assert!(s(&items[0], "phone").unwrap().starts_with("quarantine#"));
    assert!(n(&items[0], "expiresAt").is_some());
}

#[tokio::test]
async fn field_rule_violation_is_quarantined_with_a_reason_naming_the_field() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let (status, answer) = deliver(&handler, &fresh("22-invalid-phone.json")).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("quarantined"))
    );
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .starts_with("data.phone: must be an E.164 number")
    );
    let quarantine = aws.drain(&aws.resources.queues.quarantine).await;
    assert_eq!(quarantine.len(), 1);
    assert_eq!(body_json(&quarantine[0])["reason"], answer["reason"]);
    assert!(aws.lead_items().await.is_empty());
}

#[tokio::test]
async fn other_event_types_are_ignored_and_stored_nowhere() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let (status, answer) = deliver(&handler, &fresh("23-unknown-event-type.json")).await;
    assert_eq!((status, answer), (200, json!({"status": "ignored"})));
    assert!(aws.all_items().await.is_empty());
    assert!(aws.drain_all_queues().await.iter().all(Vec::is_empty));
}

async fn assert_untouched(aws: &TestAws) {
    assert!(aws.all_items().await.is_empty(), "the table was written");
    assert!(
        aws.drain_all_queues().await.iter().all(Vec::is_empty),
        "a message was sent"
    );
}

#[tokio::test]
async fn bad_stale_or_missing_signature_gets_401_and_stores_nothing() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let mut missing = fresh("09-call-key-pressed-9.json");
    missing["headers"]
        .as_object_mut()
        .unwrap()
        .remove("aktify-signature");
    let mut malformed = fresh("09-call-key-pressed-9.json");
    set_signature(&mut malformed, "t=abc,v2=zz");
    for (what, event) in [
        (
            "wrong secret",
            resign(sample("20-bad-signature.json"), "not-the-configured-secret"),
        ),
        (
            "wrong secret",
            resign(
                sample("09-call-key-pressed-9.json"),
                "not-the-configured-secret",
            ),
        ),
        (
            "stale (signed in 2024)",
            sample("09-call-key-pressed-9.json"),
        ),
        ("missing", missing),
        ("malformed", malformed),
    ] {
        let (status, answer) = deliver(&handler, &event).await;
        assert_eq!(
            (status, answer),
            (401, json!({"error": "unauthorized"})),
            "{what}"
        );
    }
    assert_untouched(&aws).await;
}

#[tokio::test]
async fn tampered_body_gets_401() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let mut event = fresh("09-call-key-pressed-9.json");
    event["body"] = Value::from(event["body"].as_str().unwrap().replace("\"9\"", "\"1\""));
    assert_eq!(deliver(&handler, &event).await.0, 401);
    assert_untouched(&aws).await;
}

#[tokio::test]
async fn methods_other_than_post_get_405_and_store_nothing() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let (response, _) = handler
        .respond(&support::aws::request(&sample("24-get-request.json")))
        .await;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "POST");
    let mut put = fresh("09-call-key-pressed-9.json");
    put["requestContext"]["http"]["method"] = Value::from("PUT");
    let (status, answer) = deliver(&handler, &put).await;
    assert_eq!(
        (status, answer),
        (405, json!({"error": "method_not_allowed"}))
    );
    assert_untouched(&aws).await;
}

#[tokio::test]
async fn body_over_256_kib_gets_413_and_stores_nothing() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let padding = "x".repeat(256 * 1024);
    let big = body(
        "lead.call_received",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        "+12025550101",
        &format!(r#""padding":"{padding}""#),
    );
    let (status, answer) = deliver(&handler, &signed(&big)).await;
    assert_eq!(
        (status, answer),
        (413, json!({"error": "payload_too_large"}))
    );
    assert_untouched(&aws).await;
}

#[tokio::test]
async fn body_of_exactly_256_kib_is_accepted() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let empty = body(
        "lead.call_received",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        "+12025550101",
        r#""padding":"""#,
    );
    let padding = "x".repeat(256 * 1024 - empty.len());
    let exact = body(
        "lead.call_received",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        "+12025550101",
        &format!(r#""padding":"{padding}""#),
    );
    assert_eq!(exact.len(), 256 * 1024);
    let (status, answer) = deliver(&handler, &signed(&exact)).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed"))
    );
}

#[tokio::test]
async fn request_log_line_masks_the_phone_and_holds_no_secret_or_signature() {
    let aws = TestAws::new().await;
    let handler = aws.handler().await;
    let event = fresh("09-call-key-pressed-9.json");
    let signature = event["headers"]["aktify-signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, report) = handler.respond(&support::aws::request(&event)).await;
    let line = report.to_log_line(0);
    let log: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(log["phone"], "********0103");
    assert_eq!(log["outcome"], "processed");
    assert_eq!(log["eventType"], "lead.call_key_pressed");
    assert_eq!(log["campaignId"], CAMPAIGN);
    assert_eq!(log["effects"], json!(["dnc"]));
    assert_eq!(log["DncSignals"], 1);
    assert!(log["durationMs"].as_f64().unwrap() > 0.0);
    for secret in [
        "+12025550103",
        LOCAL_SECRET,
        &signature,
        signature.split("v2=").nth(1).unwrap(),
    ] {
        assert!(!line.contains(secret), "the log line holds {secret}");
    }
}

/// Any authentic body, however broken, ends as processed, duplicate, ignored or
/// quarantined with a 200 and a JSON answer: never a panic, never a needless non-2xx.
#[test]
fn every_authentic_body_gets_200_and_a_json_answer() {
    use base64::Engine;
    use proptest::prelude::*;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let aws = runtime.block_on(TestAws::new());
    let handler = runtime.block_on(aws.handler());
    let valid = body(
        "lead.call_key_pressed",
        CAMPAIGN,
        "2024-01-28T12:00:00Z",
        "+12025550144",
        r#""callType":"inbound","keypressNumber":"9""#,
    );
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        // A valid body with a slice cut out or a byte changed.
        (0..valid.len(), 0..valid.len(), any::<u8>()).prop_map(move |(a, b, byte)| {
            let mut bytes = valid.clone().into_bytes();
            let (lo, hi) = (a.min(b), a.max(b));
            if a % 2 == 0 {
                bytes.drain(lo..hi);
            } else {
                bytes[lo] = byte;
            }
            bytes
        }),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(96));
    runner
        .run(&bodies, |bytes| {
            let mut event = sample("02-call-received.json");
            event["body"] = Value::from(base64::engine::general_purpose::STANDARD.encode(&bytes));
            event["isBase64Encoded"] = Value::from(true);
            let event = resign(event, LOCAL_SECRET);
            let (status, answer) = runtime.block_on(deliver(&handler, &event));
            prop_assert_eq!(status, 200, "{}", answer);
            let outcome = answer["status"].as_str().unwrap_or_default().to_owned();
            prop_assert!(
                ["processed", "duplicate", "ignored", "quarantined"].contains(&outcome.as_str()),
                "{}",
                answer
            );
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn queue_url_without_fifo_suffix_gets_the_same_message_without_fifo_parameters() {
    let aws = TestAws::new().await;
    let standard = aws
        .sqs
        .create_queue()
        .queue_name(format!("{}-dnc-standard", aws.resources.table_name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let handler = aws.handler().await;
    let (status, answer) = deliver(&handler, &fresh("09-call-key-pressed-9.json")).await;
    assert_eq!((status, answer["effects"].clone()), (200, json!(["dnc"])));
    let mut queues = aws.resources.queues.clone();
    queues.dnc = standard.clone();
    let relay = call_events::app::build_relay(
        &call_events::config::RelayConfig {
            table_name: aws.resources.table_name.clone(),
            dnc_table_name: aws.resources.dnc_table_name.clone(),
            queues,
        },
        &aws.sdk,
    );
    aws.pump_with(&relay, 100).await;

    let messages = aws.drain_only(&standard).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(body_json(&messages[0])["type"], "dnc.requested");
    assert_eq!(
        attribute(&messages[0], "type").as_deref(),
        Some("dnc.requested")
    );
    assert_eq!(
        attribute(&messages[0], "campaignId").as_deref(),
        Some(CAMPAIGN)
    );
    let system = messages[0].attributes().cloned().unwrap_or_default();
    let names: Vec<&str> = system.keys().map(|k| k.as_str()).collect();
    assert!(!names.contains(&"MessageGroupId"), "{names:?}");
    assert!(!names.contains(&"MessageDeduplicationId"), "{names:?}");
    assert!(aws.drain(&aws.resources.queues.dnc).await.is_empty());
}
