//! DNC is company-wide (docs/contract.md §1, §4a, §5), on moto: every DNC signal (key 9,
//! `callResult: dnc`, `dnc.created` v2 and legacy v1) reaches the register through the
//! relay; a phone gets one `dnc.requested`, ever; no callback leaves for a phone on the
//! register, whatever its campaign; the register keeps the earliest signal with the signed
//! request that carried it.

mod support;

use call_events::core::signature::{Secret, verify_evidence};
use serde_json::{Value, json};
use support::aws::{
    LOCAL_SECRET, TestAws, attribute, body_json, deliver, n, resign, s, sample, signed,
};
use support::body;

const SPRING: &str = "spring-campaign";
const AUTUMN: &str = "autumn-campaign";

/// A DNC signal of each kind for `phone` at `time`, in `campaign` (the legacy one has none).
fn signal(kind: &str, campaign: &str, phone: &str, time: &str) -> Value {
    let raw = match kind {
        "key_9" => body(
            "lead.call_key_pressed",
            campaign,
            time,
            phone,
            r#""callType":"inbound","keypressNumber":"9""#,
        ),
        "call_result_dnc" => body(
            "lead.call_ended",
            campaign,
            time,
            phone,
            r#""callType":"inbound","callResult":"dnc""#,
        ),
        "dnc_created" => body(
            "dnc.created",
            campaign,
            time,
            phone,
            &format!(r#""dncTimestamp":"{time}""#),
        ),
        "legacy_dnc_created" => {
            let naive = time.trim_end_matches('Z');
            let raw = format!(
                r#"{{"apiVersion":"2021-08-23","type":"dnc.created","data":{{"phoneNumber":"{phone}","dncTimestamp":"{naive}"}}}}"#
            );
            let mut event = signed(&raw);
            event["headers"]["aktify-signature"] = Value::from("t=0,v1=00");
            return resign(event, LOCAL_SECRET);
        }
        other => panic!("{other}"),
    };
    signed(&raw)
}

fn scheduled(campaign: &str, phone: &str, time: &str) -> Value {
    signed(&body(
        "lead.call_scheduled",
        campaign,
        time,
        phone,
        r#""scheduledTime":"2024-01-30T10:00:00Z""#,
    ))
}

const KINDS: [(&str, &str); 4] = [
    ("key_9", "keypress_9"),
    ("call_result_dnc", "call_result_dnc"),
    ("dnc_created", "dnc_created"),
    ("legacy_dnc_created", "dnc_created"),
];

#[tokio::test]
async fn each_dnc_signal_gives_one_request_per_phone_and_no_callback_in_any_campaign() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    for (i, (kind, reason)) in KINDS.iter().enumerate() {
        let phone = format!("+1202555030{i}");
        // The signal in spring, a callback and another signal in autumn.
        let (status, answer) = deliver(
            &webhook,
            &signal(kind, SPRING, &phone, "2024-01-28T12:00:00Z"),
        )
        .await;
        assert_eq!(
            (status, answer["status"].clone(), answer["effects"].clone()),
            (200, json!("processed"), json!(["dnc"])),
            "{kind}"
        );
        let (_, answer) =
            deliver(&webhook, &scheduled(AUTUMN, &phone, "2024-01-28T12:01:00Z")).await;
        assert_eq!(
            answer["effects"],
            json!(["callback"]),
            "decided for its lead"
        );
        deliver(
            &webhook,
            &signal("key_9", AUTUMN, &phone, "2024-01-28T12:02:00Z"),
        )
        .await;

        let [callbacks, dnc, _] = aws.drain_all_queues().await;
        assert!(
            callbacks.is_empty(),
            "{kind}: a callback left for a DNC phone"
        );
        assert_eq!(dnc.len(), 1, "{kind}: one request per phone");
        let request = body_json(&dnc[0]);
        assert_eq!(request["phone"], phone.as_str());
        assert_eq!(request["reason"], *reason, "{kind}");
        assert_eq!(request["requestedAt"], "2024-01-28T12:00:00.000Z", "{kind}");
        let register = aws.register_item(&phone).await.unwrap();
        assert_eq!(n(&register, "signals"), Some(2), "{kind}");
        assert_eq!(s(&register, "reason").as_deref(), Some(*reason));
        assert_eq!(
            s(&register, "dncAt").as_deref(),
            Some("2024-01-28T12:00:00.000Z")
        );
        let expected_campaign = (*kind != "legacy_dnc_created").then_some(SPRING);
        assert_eq!(s(&register, "campaignId").as_deref(), expected_campaign);
        assert_eq!(
            request["campaignId"],
            expected_campaign.map_or(Value::Null, Value::from)
        );
        assert_eq!(
            attribute(&dnc[0], "campaignId").as_deref(),
            expected_campaign
        );
    }
}

#[tokio::test]
async fn the_register_keeps_the_earliest_signal_whatever_the_arrival_order_and_requests_once() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550320";
    // The later signal arrives first and is relayed: the request goes out with it.
    deliver(
        &webhook,
        &signal("key_9", AUTUMN, phone, "2024-01-28T15:00:00Z"),
    )
    .await;
    aws.pump().await;
    deliver(
        &webhook,
        &signal("dnc_created", SPRING, phone, "2024-01-28T09:00:00Z"),
    )
    .await;
    deliver(
        &webhook,
        &signal("legacy_dnc_created", SPRING, phone, "2024-01-28T11:00:00Z"),
    )
    .await;
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1, "one request per phone, ever");

    let register = aws.register_item(phone).await.unwrap();
    assert_eq!(
        s(&register, "dncAt").as_deref(),
        Some("2024-01-28T09:00:00.000Z")
    );
    assert_eq!(s(&register, "reason").as_deref(), Some("dnc_created"));
    assert_eq!(s(&register, "campaignId").as_deref(), Some(SPRING));
    assert_eq!(n(&register, "signals"), Some(3));
    let source = register["source"].as_m().unwrap();
    assert_eq!(source["eventType"].as_s().unwrap(), "dnc.created");
}

#[tokio::test]
async fn stored_evidence_re_verifies_with_the_secret_and_fails_with_another() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550330";
    for (kind, time) in [
        ("legacy_dnc_created", "2024-01-28T10:00:00Z"),
        ("key_9", "2024-01-28T11:00:00Z"),
    ] {
        deliver(&webhook, &signal(kind, SPRING, phone, time)).await;
    }
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    let register = aws.register_item(phone).await.unwrap();
    let evidence = register["evidence"].as_m().unwrap();
    let header = evidence["signatureHeader"].as_s().unwrap();
    let raw = evidence["body"].as_s().unwrap();
    assert!(header.contains("v1="), "the legacy signal is the earliest");
    let secret = Secret::new(LOCAL_SECRET).unwrap();
    let other = Secret::new("some-other-secret-0123456789").unwrap();
    assert!(verify_evidence(&secret, header, raw.as_bytes()));
    assert!(!verify_evidence(&other, header, raw.as_bytes()));
    assert!(!verify_evidence(
        &secret,
        header,
        raw.replace("+1", "+4").as_bytes()
    ));
    // The request carries the same proof.
    let message = body_json(&dnc[0]);
    let carried = &message["evidence"];
    assert!(verify_evidence(
        &secret,
        carried["signatureHeader"].as_str().unwrap(),
        carried["body"].as_str().unwrap().as_bytes()
    ));
    assert!(carried["receivedAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn legacy_dnc_created_is_processed_once_and_marks_no_lead() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let event = resign(sample("31-legacy-dnc-created.json"), LOCAL_SECRET);
    let (status, answer) = deliver(&webhook, &event).await;
    assert_eq!(
        (
            status,
            answer["status"].clone(),
            answer["eventType"].clone()
        ),
        (200, json!("processed"), json!("dnc.created"))
    );
    let (_, again) = deliver(
        &webhook,
        &resign(sample("31-legacy-dnc-created.json"), LOCAL_SECRET),
    )
    .await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["eventId"], answer["eventId"]);
    assert!(
        aws.lead_items().await.is_empty(),
        "no campaign: no lead item"
    );
    let dnc = aws.drain(&aws.resources.queues.dnc).await;
    assert_eq!(dnc.len(), 1);
    let register = aws.register_item("+12025550108").await.unwrap();
    assert_eq!(
        s(&register, "dncAt").as_deref(),
        Some("2024-01-28T12:06:00.123Z"),
        "no offset: read as UTC"
    );
    assert_eq!(
        s(&register, "externalLeadId").as_deref(),
        Some("lead-12345")
    );
    assert!(!register.contains_key("campaignId"));
}

#[tokio::test]
async fn legacy_webchat_lead_created_is_ignored_and_stored_nowhere() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let event = resign(sample("33-legacy-webchat-lead-created.json"), LOCAL_SECRET);
    assert_eq!(
        deliver(&webhook, &event).await,
        (200, json!({"status": "ignored"}))
    );
    assert!(aws.all_items().await.is_empty());
}

#[tokio::test]
async fn dnc_created_v2_marks_the_lead_of_its_campaign_dnc() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let event = resign(sample("30-dnc-created.json"), LOCAL_SECRET);
    let (status, answer) = deliver(&webhook, &event).await;
    assert_eq!((status, answer["effects"].clone()), (200, json!(["dnc"])));
    let lead = aws.item("+12025550107", AUTUMN).await.unwrap();
    assert_eq!(s(&lead, "status").as_deref(), Some("dnc"));
    assert_eq!(s(&lead, "dncReason").as_deref(), Some("dnc_created"));
    assert_eq!(s(&lead, "externalLeadId").as_deref(), Some("crm-2007"));
    let register = aws.register_item("+12025550107").await;
    assert!(register.is_none(), "the relay has not run yet");
    aws.pump().await;
    let register = aws.register_item("+12025550107").await.unwrap();
    assert_eq!(
        s(&register, "dncAt").as_deref(),
        Some("2024-01-28T12:04:30.000Z"),
        "the register keeps dncTimestamp"
    );
}

#[tokio::test]
async fn a_callback_relayed_before_the_phone_went_dnc_elsewhere_is_sent() {
    // "Not sent for a phone that is DNC by the time it would be sent": a callback that left
    // before any DNC signal reached the register went out, as it should.
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550340";
    deliver(&webhook, &scheduled(AUTUMN, phone, "2024-01-28T12:00:00Z")).await;
    assert_eq!(aws.drain(&aws.resources.queues.callback).await.len(), 1);
    deliver(
        &webhook,
        &signal("key_9", SPRING, phone, "2024-01-28T12:05:00Z"),
    )
    .await;
    deliver(&webhook, &scheduled(AUTUMN, phone, "2024-01-28T12:10:00Z")).await;
    let [callbacks, dnc, _] = aws.drain_all_queues().await;
    assert!(callbacks.is_empty());
    assert_eq!(dnc.len(), 1);
}

#[tokio::test]
async fn an_opt_out_in_a_quarantined_body_reaches_the_register_on_its_phones_shard() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let event = resign(
        sample("25-call-key-pressed-9-unknown-call-type.json"),
        LOCAL_SECRET,
    );
    let (status, answer) = deliver(&webhook, &event).await;
    assert_eq!(
        (status, answer["status"].clone(), answer["effects"].clone()),
        (200, json!("quarantined"), json!(["dnc"]))
    );
    // Kept under the phone, with a `#` sort key: not a lead, but on the phone's shard.
    let items = aws.all_items().await;
    let kept: Vec<_> = items
        .iter()
        .filter(|i| s(i, "phone").as_deref() == Some("+12025550109"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(
        s(kept[0], "campaignId")
            .unwrap()
            .starts_with("#dnc-signal#")
    );
    assert!(aws.lead_items().await.is_empty());
    // Delivered again (the sender's retry): the same signal, not a second one.
    deliver(
        &webhook,
        &resign(
            sample("25-call-key-pressed-9-unknown-call-type.json"),
            LOCAL_SECRET,
        ),
    )
    .await;
    let [_, dnc, quarantine] = aws.drain_all_queues().await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["reason"], "keypress_9");
    assert_eq!(
        quarantine.len(),
        2,
        "each delivery's body is kept for replay"
    );
    let register = aws.register_item("+12025550109").await.unwrap();
    assert_eq!(n(&register, "signals"), Some(1));
    assert_eq!(s(&register, "requestState").as_deref(), Some("sent"));
    assert_eq!(
        s(&register, "dncAt").as_deref(),
        Some("2024-01-28T12:06:00.000Z")
    );
}
