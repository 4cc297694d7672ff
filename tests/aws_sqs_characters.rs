//! Every message SQS can carry (docs/contract.md §5), on moto behind a strict SQS: the fault
//! proxy refuses, as SQS does and moto does not, a send whose body or string attribute holds
//! a character outside XML 1.0's set. Valid JSON may hold such characters (`\u0001`, a raw
//! U+FFFF): the relay escapes them in bodies and never sends them raw in attributes, so
//! nothing is refused and every exact value arrives in the body.

mod support;

use serde_json::Value;
use support::aws::{TestAws, attribute, body_json, deliver, signed, signed_bytes};
use support::body;
use support::fault_proxy::FaultProxy;

fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("run with scripts/test.sh")
}

#[tokio::test]
async fn messages_holding_characters_sqs_refuses_are_taken_with_their_exact_values() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let proxy = FaultProxy::start(&moto()).await;
    proxy.strict_sqs();
    let relay = aws.relay_with_sqs_at(&proxy.endpoint);

    // A key 9 from a campaign whose id holds U+0001 (valid JSON, ASCII on the wire).
    let key_9 = body(
        "lead.call_key_pressed",
        r"camp\u0001aign",
        "2024-01-28T12:00:00Z",
        "+12025550701",
        r#""callType":"inbound","keypressNumber":"9""#,
    );
    // A callback whose externalLeadId holds U+FFFF, escaped and raw.
    let callback = body(
        "lead.call_scheduled",
        "autumn",
        "2024-01-28T12:01:00Z",
        "+12025550702",
        "\"externalLeadId\":\"lead\\uffff-\u{fffe}\",\"scheduledTime\":\"2099-01-30T10:00:00Z\"",
    );
    // A body that is not JSON, holding a raw U+FFFF: kept as text, quarantined.
    let broken = "{\"not json \u{ffff}".as_bytes();
    for event in [signed(&key_9), signed(&callback), signed_bytes(broken)] {
        let (status, answer) = deliver(&webhook, &event).await;
        assert_eq!(status, 200, "{answer}");
    }

    let reports = aws.pump_with(&relay, 100).await;
    assert!(
        reports.iter().all(|r| r.retry_from.is_none()),
        "{reports:?}"
    );
    assert_eq!(reports.iter().map(|r| r.counts.parked).sum::<usize>(), 0);
    assert_eq!(proxy.refused(), 0, "SQS refused a message");

    let [callbacks, dnc, quarantine] = aws.drain_all_queues().await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["campaignId"], "camp\u{1}aign");
    assert_eq!(
        attribute(&dnc[0], "campaignId").as_deref(),
        Some(r"camp\u0001aign")
    );
    assert_eq!(callbacks.len(), 1);
    assert_eq!(
        body_json(&callbacks[0])["externalLeadId"],
        "lead\u{ffff}-\u{fffe}"
    );
    assert_eq!(quarantine.len(), 1);
    let record = body_json(&quarantine[0]);
    let kept = match &record["bodyBase64"] {
        Value::String(b64) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        }
        _ => record["body"].as_str().unwrap().as_bytes().to_vec(),
    };
    assert_eq!(kept, broken, "the exact bytes are kept");
}

#[tokio::test]
async fn the_strict_sqs_refuses_what_sqs_refuses() {
    // The proxy itself: a raw U+0001 in an attribute is refused with SQS's error.
    let aws = TestAws::new().await;
    let proxy = FaultProxy::start(&moto()).await;
    proxy.strict_sqs();
    let conf = aws_sdk_sqs::config::Builder::from(&aws.sdk).endpoint_url(&proxy.endpoint);
    let sqs = aws_sdk_sqs::Client::from_conf(conf.build());
    let value = aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value("camp\u{1}aign")
        .build()
        .unwrap();
    let refused = sqs
        .send_message()
        .queue_url(&aws.resources.queues.quarantine)
        .message_body("{}")
        .message_attributes("campaignId", value)
        .send()
        .await
        .unwrap_err();
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    assert_eq!(refused.code(), Some("InvalidMessageContents"));
    assert_eq!(proxy.refused(), 1);
}
