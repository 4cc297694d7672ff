//! The replay's rules (docs/contract.md §8) on the in-memory adapters: what is recorded,
//! what is left on the quarantine queue and why. `tests/aws_replay.rs` proves the SQS
//! adapter.

mod support;

use call_events::adapters::{MemoryLeadStore, MemoryQuarantineQueue};
use call_events::core::domain::Timestamp;
use call_events::core::messages::QuarantineRecord;
use call_events::core::signature::{Secret, sign_v1, sign_v2};
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::replay::{Replay, Summary, Trust, Verdict};

const SECRET: &str = "the-configured-secret-0123";
const OTHER: &str = "someone-elses-secret-0123456";
const LEGACY_DNC: &str = r#"{"apiVersion":"2021-08-23","type":"dnc.created","data":{"phoneNumber":"+12025550800","dncTimestamp":"2024-01-28T12:00:00"}}"#;

fn header(secret: &str, body: &str) -> Option<String> {
    let years_ago = 1_600_000_000_000; // September 2020: its age does not matter
    Some(sign_v2(
        &Secret::new(secret).unwrap(),
        years_ago,
        body.as_bytes(),
    ))
}

fn record(body: &str, reason: &str, header: Option<String>) -> QuarantineRecord {
    QuarantineRecord::new(Timestamp::now().to_rfc3339(), reason, body.as_bytes())
        .signed(header.as_deref())
}

struct Run {
    summary: Summary,
    verdicts: Vec<Verdict>,
    left: usize,
    items: usize,
}

async fn replay(records: &[QuarantineRecord], trust: Trust, dry_run: bool) -> Run {
    let queue = MemoryQuarantineQueue::new();
    for r in records {
        queue.send(r);
    }
    let store = MemoryLeadStore::new();
    let replay = Replay::new(
        queue.clone(),
        CallEventRecorder::new(store.clone()),
        vec![Secret::new(SECRET).unwrap()],
        true,
        trust,
    );
    let mut verdicts = Vec::new();
    let summary = replay
        .run(dry_run, usize::MAX, |_, v| verdicts.push(v.clone()))
        .await
        .unwrap();
    Run {
        summary,
        verdicts,
        left: queue.bodies().len(),
        items: store.stream().len(),
    }
}

fn left_because(run: &Run, why: &str) -> usize {
    run.verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Left(reason) if reason.contains(why)))
        .count()
}

#[tokio::test]
async fn a_record_its_kept_signature_verifies_is_recorded_and_leaves_the_queue() {
    let run = replay(
        &[record(
            LEGACY_DNC,
            "first release",
            header(SECRET, LEGACY_DNC),
        )],
        Trust::SignedOnly,
        false,
    )
    .await;
    assert_eq!((run.summary.recorded, run.left, run.items), (1, 0, 1));
}

#[tokio::test]
async fn a_legacy_v1_signature_verifies_too() {
    let v1 = sign_v1(&Secret::new(SECRET).unwrap(), 1, LEGACY_DNC.as_bytes());
    let run = replay(
        &[record(LEGACY_DNC, "first release", Some(v1))],
        Trust::SignedOnly,
        false,
    )
    .await;
    assert_eq!(run.summary.recorded, 1);
}

#[tokio::test]
async fn a_forged_or_unsigned_record_is_left_with_its_reason_and_nothing_is_written() {
    let forged = LEGACY_DNC.replace("0800", "0900");
    let run = replay(
        &[
            record(&forged, "r", header(OTHER, &forged)),
            record(&forged, "r", header(SECRET, LEGACY_DNC)),
            record(&forged, "r", Some("t=1,v2=nothex".into())),
            record(LEGACY_DNC, "r", None),
        ],
        Trust::SignedOnly,
        false,
    )
    .await;
    assert_eq!((run.summary.recorded, run.summary.left), (0, 4));
    assert_eq!(left_because(&run, "does not verify"), 3);
    assert_eq!(left_because(&run, "no signature header"), 1);
    assert_eq!((run.left, run.items), (4, 0));
}

#[tokio::test]
async fn unsigned_records_are_recorded_only_under_the_explicit_flag_forged_ones_never() {
    let forged = LEGACY_DNC.replace("0800", "0900");
    let run = replay(
        &[
            record(LEGACY_DNC, "r", None),
            record(&forged, "r", header(OTHER, &forged)),
        ],
        Trust::UnsignedFirstRelease,
        false,
    )
    .await;
    assert_eq!(
        (run.summary.recorded, run.summary.left, run.left),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn what_the_relay_parked_what_still_breaks_a_rule_and_what_is_no_record_stay() {
    let broken = r#"{"metadata":{"eventType":"lead.call_received","campaignId":"c","eventTime":"2024-01-28T12:00:00Z"},"data":{"phone":"12025550801"}}"#;
    let queue_records = [
        record("{}", "relay: callback.scheduled callback-1 not sent", None),
        record(broken, "data.phone", header(SECRET, broken)),
    ];
    let queue = MemoryQuarantineQueue::new();
    for r in &queue_records {
        queue.send(r);
    }
    queue.send_body("not a quarantine record");
    let replay = Replay::new(
        queue.clone(),
        CallEventRecorder::new(MemoryLeadStore::new()),
        vec![Secret::new(SECRET).unwrap()],
        true,
        Trust::UnsignedFirstRelease,
    );
    let mut verdicts = Vec::new();
    let summary = replay
        .run(false, usize::MAX, |_, v| verdicts.push(v.clone()))
        .await
        .unwrap();
    assert_eq!((summary.seen, summary.left), (3, 3), "{verdicts:?}");
    assert_eq!(queue.bodies().len(), 3);
    assert!(matches!(&verdicts[0], Verdict::Left(r) if r.starts_with("parked by the relay")));
    assert!(matches!(&verdicts[1], Verdict::Left(r) if r.starts_with("data.phone")));
    assert!(matches!(&verdicts[2], Verdict::Left(r) if r.starts_with("not a quarantine record")));
}

#[tokio::test]
async fn an_event_type_now_ignored_leaves_the_queue_and_a_dry_run_changes_nothing() {
    let sms = r#"{"metadata":{"eventType":"lead.message_received","campaignId":"c"},"data":{}}"#;
    let records = [
        record(sms, "r", header(SECRET, sms)),
        record(LEGACY_DNC, "r", header(SECRET, LEGACY_DNC)),
    ];
    let dry = replay(&records, Trust::SignedOnly, true).await;
    assert_eq!((dry.summary.ignored, dry.summary.recorded), (1, 1));
    assert_eq!(
        (dry.left, dry.items),
        (2, 0),
        "a dry run records and deletes nothing"
    );
    let run = replay(&records, Trust::SignedOnly, false).await;
    assert_eq!((run.left, run.items), (0, 1));
}
