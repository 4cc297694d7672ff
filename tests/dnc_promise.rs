//! The DNC promise rests on no single stream record (docs/contract.md §4a, §5), on the
//! in-memory adapters: a phone's request stays pending in the register until SQS took it,
//! and the sweep sends whatever the stream could not; every permanent failure of the relay
//! and the sweep is kept durably with its reason, and they go on.

mod support;

use call_events::adapters::MemoryPublisher;
use call_events::adapters::dynamodb::item::PARKED_PARTITION;
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore};
use call_events::core::decided::Change;
use call_events::core::domain::{Phone, Timestamp};
use call_events::core::messages::QuarantineRecord;
use call_events::core::register::{Evidence, RequestState};
use call_events::ports::{DncRegisterStore, Inbox};
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::relay::{Relay, SWEEP_GRACE, SweepStop};
use support::{body, parse_call};

const PHONE: &str = "+12025550190";

type MemoryRelay = Relay<MemoryPublisher, MemoryDncRegister, MemoryLeadStore>;

struct World {
    store: MemoryLeadStore,
    publisher: MemoryPublisher,
    register: MemoryDncRegister,
    relay: MemoryRelay,
    relayed: usize,
}

impl World {
    fn new() -> Self {
        let store = MemoryLeadStore::new();
        let publisher = MemoryPublisher::new();
        let register = MemoryDncRegister::new();
        let relay = Relay::new(publisher.clone(), register.clone(), store.clone());
        Self {
            store,
            publisher,
            register,
            relay,
            relayed: 0,
        }
    }

    async fn record(&self, event_type: &str, minute: u32, data: &str) {
        let raw = body(
            event_type,
            "spring",
            &format!("2024-01-28T12:{minute:02}:00Z"),
            PHONE,
            data,
        );
        let event = parse_call(&raw);
        let evidence = Evidence {
            received_at: "2024-01-28T13:00:00.000Z".into(),
            signature_header: "t=1,v2=00".into(),
            body: raw,
            body_base64: None,
        };
        CallEventRecorder::new(self.store.clone())
            .record(&event, &evidence)
            .await
            .unwrap();
    }

    async fn key_9(&self, minute: u32) {
        self.record(
            "lead.call_key_pressed",
            minute,
            r#""callType":"inbound","keypressNumber":"9""#,
        )
        .await;
    }

    /// The stream records not relayed yet, in order.
    fn new_changes(&mut self) -> Vec<Change> {
        let all = support::changes(&self.store);
        let fresh = all[self.relayed..].to_vec();
        self.relayed = all.len();
        fresh
    }

    fn dnc_requests(&self) -> Vec<String> {
        self.publisher
            .sent()
            .into_iter()
            .filter(|m| m.message_type == "dnc.requested")
            .map(|m| m.id)
            .collect()
    }

    async fn request_state(&self) -> RequestState {
        let phone = Phone::parse(PHONE).unwrap();
        self.register.load(&phone).await.unwrap().unwrap().0.request
    }

    fn parked(&self) -> Vec<(String, String)> {
        self.store
            .items_under(PARKED_PARTITION)
            .iter()
            .map(|item| {
                let s = |name: &str| item[name].as_s().unwrap().clone();
                (s("reason"), s("body"))
            })
            .collect()
    }
}

#[tokio::test]
async fn a_request_stays_pending_until_sqs_takes_it_and_the_sweep_sends_it_once() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.set_down(true);
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert!(
        report.retry_from.is_some(),
        "SQS down: the batch is retried"
    );
    assert!(
        world.request_state().await.is_pending(),
        "registered, pending"
    );
    // Lambda gives the batch up; the stream never hands it over again. SQS comes back.
    world.publisher.set_down(false);
    let fresh = support::finished(world.relay.sweep(Timestamp::now(), support::budget()).await);
    assert_eq!(
        fresh.pending_found, 0,
        "a request younger than the grace is the stream's"
    );
    let later = Timestamp::now();
    let swept = sweep_after_grace(&world, later).await;
    assert_eq!((swept.pending_found, swept.counts.dnc_sent), (1, 1));
    assert!(matches!(
        world.request_state().await,
        RequestState::Sent { .. }
    ));
    assert_eq!(world.dnc_requests().len(), 1);
    // Nothing pending any more: the next sweep sends nothing.
    let again = sweep_after_grace(&world, Timestamp::now()).await;
    assert_eq!((again.pending_found, again.counts.dnc_sent), (0, 0));
    // A later DNC signal of the same phone sends nothing more.
    world.key_9(5).await;
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(
        (report.retry_from.as_deref(), report.counts.dnc_sent),
        (None, 0)
    );
    assert_eq!(world.dnc_requests().len(), 1, "one request per phone, ever");
}

/// The sweep as it runs one grace period after `now`.
async fn sweep_after_grace(
    world: &World,
    now: Timestamp,
) -> call_events::usecases::relay::SweepReport {
    let later =
        Timestamp::from_unix_parts(now.to_unix_parts().0 + SWEEP_GRACE.as_secs() as i64 + 1, 0)
            .unwrap();
    support::finished(world.relay.sweep(later, support::budget()).await)
}

#[tokio::test]
async fn any_relay_pass_that_touches_a_pending_phone_sends_its_request() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.set_down(true);
    let changes = world.new_changes();
    world.relay.relay(&changes, support::budget()).await;
    world.publisher.set_down(false);
    // The given-up record is never seen again; the phone's next signal is.
    world
        .record(
            "lead.call_ended",
            1,
            r#""callType":"inbound","callResult":"dnc""#,
        )
        .await;
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(
        (report.retry_from.as_deref(), report.counts.dnc_sent),
        (None, 1)
    );
    assert!(!world.request_state().await.is_pending());
}

#[tokio::test]
async fn a_dnc_request_sqs_refuses_for_good_is_parked_marked_refused_and_left_out_of_the_sweep() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.refuse_next_sends_for_good(1);
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(report.retry_from, None, "the relay goes on");
    assert_eq!((report.counts.dnc_refused, report.counts.parked), (1, 1));
    assert!(matches!(
        world.request_state().await,
        RequestState::Refused { .. }
    ));
    let parked = world.publisher.quarantined();
    assert_eq!(parked.len(), 1);
    assert!(
        parked[0].reason.contains("dnc.requested"),
        "{}",
        parked[0].reason
    );
    let swept = sweep_after_grace(&world, Timestamp::now()).await;
    assert_eq!(
        swept.pending_found, 0,
        "a person puts it back (docs/operating.md)"
    );
}

#[tokio::test]
async fn a_quarantine_forward_sqs_refuses_for_good_is_parked_in_the_table_and_the_relay_goes_on() {
    let mut world = World::new();
    let record = QuarantineRecord::new("2024-01-28T13:00:00.000Z".to_owned(), "bad", b"{x");
    world.store.keep_quarantined(&record).await.unwrap();
    world
        .record(
            "lead.call_scheduled",
            0,
            r#""scheduledTime":"2024-01-30T10:00:00Z""#,
        )
        .await;
    world.publisher.refuse_quarantine_for_good(true);
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(
        (report.counts.parked_in_table, report.counts.callbacks_sent),
        (1, 1)
    );
    let parked = world.parked();
    assert_eq!(parked.len(), 1);
    assert!(
        parked[0].0.starts_with("quarantined body not forwarded"),
        "{}",
        parked[0].0
    );
    assert!(
        parked[0].1.contains(r#""reason":"bad""#),
        "the whole record: {}",
        parked[0].1
    );
}

#[tokio::test]
async fn a_park_the_quarantine_queue_refuses_too_ends_in_the_table_with_its_reason() {
    let mut world = World::new();
    world
        .record(
            "lead.call_scheduled",
            0,
            r#""scheduledTime":"2024-01-30T10:00:00Z""#,
        )
        .await;
    world
        .record(
            "lead.call_scheduled",
            1,
            r#""scheduledTime":"2024-01-31T10:00:00Z""#,
        )
        .await;
    world.publisher.refuse_next_sends_for_good(1);
    world.publisher.refuse_quarantine_for_good(true);
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(report.retry_from, None, "the relay goes on");
    assert_eq!(
        (report.counts.parked_in_table, report.counts.callbacks_sent),
        (1, 1)
    );
    let parked = world.parked();
    assert!(
        parked[0].0.contains("callback.scheduled"),
        "{}",
        parked[0].0
    );
    assert!(parked[0].0.contains("the quarantine queue refused it too"));
    assert!(parked[0].1.contains(r#""type":"callback.scheduled""#));
}

#[tokio::test]
async fn a_park_that_cannot_be_written_yet_stops_the_batch_for_a_retry() {
    let mut world = World::new();
    world
        .record(
            "lead.call_scheduled",
            0,
            r#""scheduledTime":"2024-01-30T10:00:00Z""#,
        )
        .await;
    world.publisher.refuse_next_sends_for_good(1);
    world.publisher.refuse_quarantine_for_good(true);
    world.store.fail_next_writes(1);
    let changes = world.new_changes();
    let report = world.relay.relay(&changes, support::budget()).await;
    assert!(
        report.retry_from.is_some(),
        "nothing is dropped: Lambda retries"
    );
}

#[tokio::test]
async fn the_sweep_parks_an_unreadable_register_entry_and_sends_the_others() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.set_down(true);
    let changes = world.new_changes();
    world.relay.relay(&changes, support::budget()).await;
    world.publisher.set_down(false);
    use aws_sdk_dynamodb::types::AttributeValue;
    let damaged = std::collections::HashMap::from([
        ("phone".to_owned(), AttributeValue::S("+12025550191".into())),
        (
            "pendingRequest".to_owned(),
            AttributeValue::S("pending".into()),
        ),
        (
            "pendingSince".to_owned(),
            AttributeValue::S("2024-01-01T00:00:00.000Z".into()),
        ),
        ("reason".to_owned(), AttributeValue::N("7".into())),
    ]);
    world.register.put_raw("+12025550191", damaged);
    let swept = sweep_after_grace(&world, Timestamp::now()).await;
    assert_eq!(
        (
            swept.pending_found,
            swept.counts.parked,
            swept.counts.dnc_sent
        ),
        (2, 1, 1)
    );
    assert_eq!(world.dnc_requests().len(), 1);
    assert!(
        world.publisher.quarantined()[0]
            .reason
            .contains("unreadable")
    );
    // Parked once: the entry left the index (marked refused, for a person), so the next
    // sweeps neither find it nor park it again.
    for _ in 0..3 {
        let again = sweep_after_grace(&world, Timestamp::now()).await;
        assert_eq!((again.pending_found, again.counts.parked), (0, 0));
    }
    assert_eq!(world.publisher.quarantined().len(), 1, "parked once");
    let damaged = world.register.item("+12025550191").unwrap();
    assert_eq!(damaged["requestState"].as_s().unwrap(), "refused");
    assert!(!damaged.contains_key("pendingRequest"));
    assert!(
        damaged["requestRefused"]
            .as_s()
            .unwrap()
            .contains("unreadable")
    );
}

#[tokio::test(start_paused = true)]
async fn a_sweep_out_of_time_stops_and_still_reports_what_it_did() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.set_down(true);
    let changes = world.new_changes();
    world.relay.relay(&changes, support::budget()).await;
    // SQS stays down: the sweep stops at its first send, and says what it did.
    let later = Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 3600, 0).unwrap();
    let swept = world.relay.sweep(later, support::budget()).await;
    assert_eq!(swept.report.pending_found, 1);
    assert_eq!(swept.report.counts.send_failures, 1);
    assert!(matches!(swept.stopped, Some(SweepStop::Failed(_))));
    // Out of time before it starts: nothing done, and it says why.
    world.publisher.set_down(false);
    let swept = world.relay.sweep(later, tokio::time::Instant::now()).await;
    assert_eq!(
        (swept.report.pending_found, swept.report.counts.dnc_sent),
        (1, 0)
    );
    assert!(matches!(swept.stopped, Some(SweepStop::OutOfTime(_))));
}

#[tokio::test]
async fn a_refused_request_says_refused_and_why_and_leaves_the_index() {
    let mut world = World::new();
    world.key_9(0).await;
    world.publisher.refuse_next_sends_for_good(1);
    let changes = world.new_changes();
    world.relay.relay(&changes, support::budget()).await;
    let item = world.register.item(PHONE).unwrap();
    assert_eq!(item["requestState"].as_s().unwrap(), "refused");
    assert!(item["requestRefused"].as_s().unwrap().contains("SQS"));
    assert!(!item.contains_key("pendingRequest"));
}

#[test]
fn a_parked_body_too_large_for_an_item_is_cut_to_fit_and_says_so() {
    let body = "x".repeat(500 * 1024);
    let parked = call_events::usecases::relay::parked("why", &body);
    assert!(parked.body.len() <= 300 * 1024);
    assert!(parked.reason.contains("body cut to"), "{}", parked.reason);
    assert!(parked.reason.contains(&(500 * 1024).to_string()));
}
