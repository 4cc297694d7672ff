//! Replaying the quarantine queue (the operator's `call-events-replay`), on moto: what now
//! parses is recorded, but only when its kept signature verifies with a configured secret
//! (docs/contract.md §8); unsigned records of the first release only under an explicit flag.

mod support;

use std::process::Command;

use call_events::app::build_replay;
use call_events::config::ReplayConfig;
use call_events::core::domain::Timestamp;
use call_events::core::messages::QuarantineRecord;
use call_events::core::signature::{Secret, sign_v2};
use call_events::usecases::replay::{Summary, Trust, Verdict};
use support::aws::{LOCAL_SECRET, TestAws, body_json, s};

/// A signature header as the sender made it a year before the replay: its age does not
/// matter, its secret does.
fn signed_by(secret: &str, body: &str) -> Option<String> {
    let a_year_ago = chrono::Utc::now().timestamp_millis() - 365 * 24 * 3600 * 1000;
    Some(sign_v2(
        &Secret::new(secret).unwrap(),
        a_year_ago,
        body.as_bytes(),
    ))
}

/// A legacy (v1) `dnc.created`: the first release quarantined it ("missing metadata").
const LEGACY_DNC: &str = r#"{"apiVersion":"2021-08-23","type":"dnc.created","data":{"phoneNumber":"+12025550800","dncTimestamp":"2024-01-28T12:00:00","externalLeadId":"lead-800"}}"#;
const STILL_BROKEN: &str = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"c","eventTime":"2024-01-28T12:00:00Z"},"data":{"phone":"12025550801"}}"#;

async fn quarantine(aws: &TestAws, body: &str, reason: &str) {
    quarantine_with(aws, body, reason, signed_by(LOCAL_SECRET, body)).await;
}

async fn quarantine_with(aws: &TestAws, body: &str, reason: &str, header: Option<String>) {
    let record = QuarantineRecord::new(
        Timestamp::parse("2024-01-28T12:00:01Z")
            .unwrap()
            .to_rfc3339(),
        reason,
        body.as_bytes(),
    )
    .signed(header.as_deref());
    aws.sqs
        .send_message()
        .queue_url(&aws.resources.queues.quarantine)
        .message_body(call_events_messages::to_json(&record))
        .send()
        .await
        .unwrap();
}

async fn replay(aws: &TestAws, dry_run: bool) -> (Summary, Vec<Verdict>) {
    replay_trusting(aws, dry_run, Trust::SignedOnly).await
}

async fn replay_trusting(aws: &TestAws, dry_run: bool, trust: Trust) -> (Summary, Vec<Verdict>) {
    let replay = build_replay(
        &ReplayConfig {
            webhook: aws.config(&[LOCAL_SECRET]),
            quarantine_queue_url: aws.resources.queues.quarantine.clone(),
        },
        &aws.sdk,
        trust,
    )
    .await
    .unwrap();
    let mut verdicts = Vec::new();
    let summary = replay
        .run(dry_run, usize::MAX, |_, verdict| {
            verdicts.push(verdict.clone())
        })
        .await
        .unwrap();
    (summary, verdicts)
}

#[tokio::test]
async fn a_record_the_current_code_accepts_is_recorded_on_replay_and_leaves_the_queue() {
    let aws = TestAws::new().await;
    quarantine(
        &aws,
        LEGACY_DNC,
        "body: is missing the required field `metadata`",
    )
    .await;
    quarantine(&aws, STILL_BROKEN, "data.phone: must be an E.164 number").await;

    let (summary, _) = replay(&aws, false).await;
    assert_eq!((summary.seen, summary.recorded, summary.left), (2, 1, 1));
    // The signal went through the same use case as a delivery: the register gets it.
    let [_, dnc, left] = aws.drain_all_queues().await;
    assert_eq!(dnc.len(), 1);
    assert_eq!(body_json(&dnc[0])["phone"], "+12025550800");
    let register = aws.register_item("+12025550800").await.unwrap();
    assert_eq!(s(&register, "reason").as_deref(), Some("dnc_created"));
    // The still-broken one stays, with its reason.
    assert_eq!(left.len(), 1);
    assert_eq!(
        body_json(&left[0])["reason"],
        "data.phone: must be an E.164 number"
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let aws = TestAws::new().await;
    quarantine(
        &aws,
        LEGACY_DNC,
        "body: is missing the required field `metadata`",
    )
    .await;
    quarantine(&aws, STILL_BROKEN, "data.phone: must be an E.164 number").await;
    let (summary, verdicts) = replay(&aws, true).await;
    assert_eq!((summary.recorded, summary.left), (1, 1), "{verdicts:?}");
    assert!(aws.all_items().await.is_empty(), "nothing recorded");
    let left = aws.drain_only(&aws.resources.queues.quarantine).await;
    assert_eq!(left.len(), 2, "nothing deleted, and released at once");
}

#[tokio::test]
async fn what_the_relay_parked_is_left_for_a_person() {
    let aws = TestAws::new().await;
    let parked = r#"{"schemaVersion":1,"type":"callback.scheduled","id":"callback-1"}"#;
    quarantine(
        &aws,
        parked,
        "relay: callback.scheduled callback-1 not sent: SQS will never take the message",
    )
    .await;
    let (summary, verdicts) = replay(&aws, false).await;
    assert_eq!(summary.left, 1);
    assert!(
        matches!(&verdicts[0], Verdict::Left(reason) if reason.starts_with("parked by the relay"))
    );
    assert_eq!(
        aws.drain_only(&aws.resources.queues.quarantine).await.len(),
        1
    );
}

#[tokio::test]
async fn a_genuine_record_is_recorded_a_forged_or_unsigned_one_is_left_with_its_reason() {
    let aws = TestAws::new().await;
    let reason = "body: is missing the required field `metadata`";
    let forged = LEGACY_DNC.replace("+12025550800", "+12025550900");
    let unsigned = LEGACY_DNC.replace("+12025550800", "+12025550901");
    quarantine(&aws, LEGACY_DNC, reason).await;
    let other_secret = "someone-elses-secret-0123456789";
    quarantine_with(&aws, &forged, reason, signed_by(other_secret, &forged)).await;
    // A genuine header over another body is a forgery too.
    quarantine_with(&aws, &forged, reason, signed_by(LOCAL_SECRET, LEGACY_DNC)).await;
    quarantine_with(&aws, &unsigned, reason, None).await;

    let (summary, verdicts) = replay(&aws, false).await;
    assert_eq!((summary.recorded, summary.left), (1, 3), "{verdicts:?}");
    let left: Vec<&String> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Left(why) => Some(why),
            _ => None,
        })
        .collect();
    assert_eq!(
        left.iter()
            .filter(|why| why.contains("does not verify"))
            .count(),
        2
    );
    assert_eq!(
        left.iter()
            .filter(|why| why.contains("no signature header"))
            .count(),
        1
    );
    aws.pump().await;
    assert!(aws.register_item("+12025550800").await.is_some());
    assert!(
        aws.register_item("+12025550900").await.is_none(),
        "forged: never recorded"
    );
    assert!(aws.register_item("+12025550901").await.is_none());
    assert_eq!(
        aws.drain_only(&aws.resources.queues.quarantine).await.len(),
        3,
        "what is left stays on the queue"
    );
}

#[tokio::test]
async fn an_unsigned_record_of_the_first_release_is_recorded_only_under_the_explicit_flag() {
    let aws = TestAws::new().await;
    let reason = "body: is missing the required field `metadata`";
    let forged = LEGACY_DNC.replace("+12025550800", "+12025550900");
    quarantine_with(&aws, LEGACY_DNC, reason, None).await;
    quarantine_with(
        &aws,
        &forged,
        reason,
        signed_by("someone-elses-secret-0123456789", &forged),
    )
    .await;
    let (summary, _) = replay_trusting(&aws, false, Trust::UnsignedFirstRelease).await;
    assert_eq!((summary.recorded, summary.left), (1, 1));
    aws.pump().await;
    assert!(aws.register_item("+12025550800").await.is_some());
    assert!(
        aws.register_item("+12025550900").await.is_none(),
        "a header that does not verify is never trusted"
    );
}

#[test]
fn the_command_explains_itself_and_names_a_missing_variable() {
    let binary = env!("CARGO_BIN_EXE_call-events-replay");
    let help = Command::new(binary).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--dry-run") && text.contains("QUARANTINE_QUEUE_URL"));
    assert!(text.contains("--trust-unsigned-first-release") && text.contains("WEBHOOK_SECRET"));
    let bare = Command::new(binary).env_clear().output().unwrap();
    assert!(!bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("TABLE_NAME is not set"));
}
