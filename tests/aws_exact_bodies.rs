//! Any authentic body is kept exactly (docs/contract.md §2 and §5), on moto: bytes that are
//! not UTF-8 are answered 2xx, kept in base64 in the quarantine record and the DNC
//! evidence, and whatever checks a signature later checks those very bytes.

mod support;

use call_events::app::build_replay;
use call_events::config::ReplayConfig;
use call_events::core::messages::QuarantineRecord;
use call_events::core::signature::{Secret, verify_evidence};
use call_events::usecases::replay::{Trust, Verdict};
use call_events_messages::{BODY_PREVIEW_BYTES, Evidence};
use support::aws::{LOCAL_SECRET, TestAws, body_json, deliver, s, signed_bytes};

/// 200 KB of Latin-1 text (`é` is one byte, 0xE9, not UTF-8): its lossy UTF-8 rendering
/// would be three times the size, past what a DynamoDB item holds.
fn latin1(size: usize) -> Vec<u8> {
    let mut body = b"{\"note\":\"caf".to_vec();
    while body.len() < size {
        body.push(0xe9);
    }
    body
}

#[tokio::test]
async fn a_signed_200_kb_body_that_is_not_utf8_is_quarantined_with_its_exact_bytes_and_its_signature_still_verifies()
 {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let bytes = latin1(200 * 1024);
    let (status, answer) = deliver(&webhook, &signed_bytes(&bytes)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "quarantined");
    aws.pump().await;
    let records = aws.drain_only(&aws.resources.queues.quarantine).await;
    assert_eq!(records.len(), 1);
    let record: QuarantineRecord = serde_json::from_value(body_json(&records[0])).unwrap();
    assert_eq!(record.bytes().unwrap().as_ref(), bytes.as_slice(), "exact");
    assert!(
        record.body.len() <= BODY_PREVIEW_BYTES,
        "the text is a preview"
    );
    let header = record.signature_header.clone().unwrap();
    let secret = Secret::new(LOCAL_SECRET).unwrap();
    assert!(verify_evidence(&secret, &header, &record.bytes().unwrap()));

    // The replay checks the signature over the same exact bytes: it verifies, and the
    // record stays for what it is (not JSON), not for a signature that fails.
    aws.sqs
        .send_message()
        .queue_url(&aws.resources.queues.quarantine)
        .message_body(records[0].body().unwrap())
        .send()
        .await
        .unwrap();
    let replay = build_replay(
        &ReplayConfig {
            webhook: aws.config(&[LOCAL_SECRET]),
            quarantine_queue_url: aws.resources.queues.quarantine.clone(),
        },
        &aws.sdk,
        Trust::SignedOnly,
    )
    .await
    .unwrap();
    let mut verdicts = Vec::new();
    replay
        .run(true, usize::MAX, |_, verdict| {
            verdicts.push(verdict.clone())
        })
        .await
        .unwrap();
    let [Verdict::Left(why)] = verdicts.as_slice() else {
        panic!("{verdicts:?}");
    };
    assert!(!why.contains("signature"), "{why}");
    assert!(why.contains("JSON"), "{why}");
}

/// serde_json does not check the text of fields an event does not know, so a valid key 9
/// may carry bytes that are not UTF-8. Its evidence is kept exactly, and verifies.
#[tokio::test]
async fn a_dnc_signal_whose_body_is_not_utf8_keeps_evidence_that_verifies() {
    let aws = TestAws::new().await;
    let webhook = aws.handler().await;
    let phone = "+12025550901";
    let mut bytes = br#"{"metadata":{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"exact","eventTime":"2024-01-28T12:00:00Z","note":"caf"#.to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(
        format!(r#""}},"data":{{"phone":"{phone}","callType":"inbound","keypressNumber":"9"}}}}"#)
            .as_bytes(),
    );
    assert!(std::str::from_utf8(&bytes).is_err());
    let (status, answer) = deliver(&webhook, &signed_bytes(&bytes)).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("processed")),
        "{answer}"
    );
    aws.pump().await;
    let entry = aws.register_item(phone).await.unwrap();
    let evidence: Evidence = serde_dynamo::from_attribute_value(entry["evidence"].clone()).unwrap();
    assert_eq!(evidence.bytes().unwrap().as_ref(), bytes.as_slice());
    let secret = Secret::new(LOCAL_SECRET).unwrap();
    assert!(verify_evidence(
        &secret,
        &evidence.signature_header,
        &evidence.bytes().unwrap()
    ));
    assert_eq!(s(&entry, "requestState").as_deref(), Some("sent"));
    // The request on the DNC queue carries the same exact bytes.
    let requests = aws.drain_only(&aws.resources.queues.dnc).await;
    let request = body_json(&requests[0]);
    let carried: Evidence = serde_json::from_value(request["evidence"].clone()).unwrap();
    assert_eq!(carried.bytes().unwrap().as_ref(), bytes.as_slice());
}
