//! No signal waits on the stream alone (docs/contract.md §5), on the in-memory adapters:
//! each write that decides messages or DNC signals waits in the lead table's index until
//! the relay confirms it; a write whose stream record never comes (trimmed, a destination
//! that failed) is found there by the sweep and relayed late: its DNC signals reach the
//! register and their requests leave, its callbacks still ahead are sent, those past due
//! are counted. A later write of the lead carries what is not confirmed, so its own record
//! brings it too. `tests/aws_reconcile.rs` plays the same on moto.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use call_events::adapters::MemoryLeadStore;
use call_events::adapters::dynamodb::item::{PARKED_PARTITION, RELAY_PENDING};
use call_events::core::decided::Change;
use call_events::core::domain::{CallEvent, Timestamp};
use call_events::core::lead::DncSignal;
use call_events::core::messages::Queue;
use call_events::core::register::{DncSignalRecord, Evidence};
use call_events::ports::Inbox;
use call_events::usecases::record::{CallEventRecorder, Recorded};
use call_events::usecases::relay::RECONCILE_GRACE;
use proptest::prelude::*;
use support::memory::World;
use support::{body, parse_call};

const DNC_PHONE: &str = "+12025550731";
const AHEAD_PHONE: &str = "+12025550732";
const PAST_PHONE: &str = "+12025550733";
const LEGACY_PHONE: &str = "+12025550734";

impl World {
    fn sent(&self, queue: Queue) -> Vec<String> {
        let sent = self.publisher.sent().into_iter();
        sent.filter(|m| m.queue == queue).map(|m| m.group).collect()
    }

    /// The items still waiting for the relay.
    fn waiting(&self) -> Vec<String> {
        let items = self.store.items().into_iter();
        let waiting = items.filter(|item| item.contains_key(RELAY_PENDING));
        waiting
            .map(|item| item["phone"].as_s().unwrap().clone())
            .collect()
    }
}

fn event(phone: &str, event_type: &str, minute: u32, data: &str) -> (CallEvent, Evidence) {
    let raw = body(
        event_type,
        "reconcile",
        &format!("2024-01-28T12:{minute:02}:00Z"),
        phone,
        data,
    );
    let evidence = Evidence {
        received_at: "2024-01-28T13:00:00.000Z".into(),
        signature_header: "t=1,v2=00".into(),
        body: raw.clone(),
        body_base64: None,
    };
    (parse_call(&raw), evidence)
}

fn key_9(phone: &str, minute: u32) -> (CallEvent, Evidence) {
    let data = r#""callType":"inbound","keypressNumber":"9""#;
    event(phone, "lead.call_key_pressed", minute, data)
}

fn scheduled(phone: &str, minute: u32, at: &str) -> (CallEvent, Evidence) {
    let data = format!(r#""scheduledTime":"{at}""#);
    event(phone, "lead.call_scheduled", minute, &data)
}

fn initiated(phone: &str, minute: u32) -> (CallEvent, Evidence) {
    event(
        phone,
        "lead.call_initiated",
        minute,
        r#""callType":"outbound""#,
    )
}

async fn record(store: &MemoryLeadStore, (event, evidence): (CallEvent, Evidence)) -> Recorded {
    CallEventRecorder::new(store.clone())
        .record(&event, &evidence)
        .await
        .unwrap()
}

/// A time past the sweep's grace.
fn after_grace() -> Timestamp {
    let later = Timestamp::now().to_unix_parts().0 + RECONCILE_GRACE.as_secs() as i64 + 60;
    Timestamp::from_unix_parts(later, 0).unwrap()
}

#[tokio::test]
async fn writes_whose_stream_records_were_lost_while_sqs_was_down_are_relayed_by_the_sweep() {
    let world = World::new();
    record(&world.store, key_9(DNC_PHONE, 0)).await;
    record(
        &world.store,
        scheduled(AHEAD_PHONE, 0, "2099-01-30T10:00:00Z"),
    )
    .await;
    record(
        &world.store,
        scheduled(PAST_PHONE, 0, "2024-01-30T10:00:00Z"),
    )
    .await;
    let (legacy, evidence) = key_9(LEGACY_PHONE, 0);
    let signal = DncSignal::of_event(&legacy, &legacy.id()).unwrap();
    let kept = DncSignalRecord::new(&signal, evidence);
    assert!(world.store.keep_signal(&kept).await.unwrap());
    assert_eq!(world.waiting().len(), 4);
    // SQS is down while Lambda retries the batch; then Lambda gives it up and the stream
    // trims it (a bucket write that failed too): its records never come again.
    world.publisher.set_down(true);
    for _ in 0..3 {
        let changes = support::changes(&world.store);
        let report = world.relay.relay(&changes, support::budget()).await;
        assert!(report.retry_from.is_some());
    }
    world.publisher.set_down(false);
    assert_eq!(world.waiting().len(), 4, "nothing confirmed");

    // Within the grace, the sweep leaves them to the stream.
    let swept = support::finished(world.relay.sweep(Timestamp::now(), support::budget()).await);
    assert_eq!((swept.waiting_found, swept.counts.reconciled), (0, 0));
    assert!(world.publisher.sent().is_empty());

    // Past it, it relays each late, once.
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.waiting_found, 4);
    let counts = swept.counts;
    assert_eq!(
        (
            counts.reconciled,
            counts.dnc_signals_registered,
            counts.dnc_sent,
            counts.callbacks_sent,
            counts.callbacks_past_due,
        ),
        (4, 2, 2, 1, 1)
    );
    let dnc: BTreeSet<String> = world.sent(Queue::Dnc).into_iter().collect();
    assert_eq!(dnc, BTreeSet::from([DNC_PHONE.into(), LEGACY_PHONE.into()]));
    assert_eq!(world.sent(Queue::Callback), vec![AHEAD_PHONE.to_owned()]);
    for phone in [DNC_PHONE, LEGACY_PHONE] {
        let item = world.register.item(phone).expect("on the register");
        assert_eq!(item["requestState"].as_s().unwrap(), "sent");
    }
    assert!(world.waiting().is_empty(), "each confirmed");

    // Nothing is left for the next sweep.
    let again = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!((again.waiting_found, again.counts.reconciled), (0, 0));
    assert_eq!(world.publisher.sent().len(), 3);
}

#[tokio::test]
async fn a_later_write_relays_only_what_it_decided_and_the_sweep_relays_a_lost_record() {
    let world = World::new();
    record(&world.store, key_9(DNC_PHONE, 0)).await;
    let lost = support::changes(&world.store).len();
    record(&world.store, initiated(DNC_PHONE, 1)).await;
    // Only the second write's record reaches the relay: it decided nothing, and carries
    // nothing; the first write's entry waits in the index.
    let changes = support::changes(&world.store);
    let report = world.relay.relay(&changes[lost..], support::budget()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(report.counts.dnc_signals_registered, 0);
    assert_eq!(world.waiting().len(), 1);
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(
        (swept.counts.dnc_signals_registered, swept.counts.dnc_sent),
        (1, 1)
    );
    assert!(world.waiting().is_empty());
    assert_eq!(world.sent(Queue::Dnc), vec![DNC_PHONE.to_owned()]);
}

#[tokio::test]
async fn a_relayed_write_leaves_the_index_and_a_warm_instance_then_carries_nothing() {
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let (event, evidence) = scheduled(AHEAD_PHONE, 0, "2099-01-30T10:00:00Z");
    webhook.record(&event, &evidence).await.unwrap();
    let report = world
        .relay
        .relay(&support::changes(&world.store), support::budget())
        .await;
    assert_eq!(report.counts.callbacks_sent, 1);
    assert!(world.waiting().is_empty(), "confirmed");
    let relayed = support::changes(&world.store).len();

    // The same instance (its cache holds the version it wrote) writes the lead again, in
    // one write: the confirmation did not move the version, and nothing is carried.
    let writes = world.store.writes();
    let (event, evidence) = initiated(AHEAD_PHONE, 1);
    webhook.record(&event, &evidence).await.unwrap();
    assert_eq!(
        world.store.writes() - writes,
        1,
        "one write per warm delivery"
    );
    let later = &support::changes(&world.store)[relayed..];
    let report = world.relay.relay(later, support::budget()).await;
    assert_eq!(report.counts.callbacks_sent, 0, "sent once");
    assert!(world.waiting().is_empty());
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.waiting_found, 0);
}

#[tokio::test]
async fn an_unreadable_waiting_item_is_parked_once_with_its_image_and_set_aside() {
    let world = World::new();
    record(&world.store, key_9(DNC_PHONE, 0)).await;
    // Damaged by another writer: its signal's phone is no phone.
    let item = world.store.item(DNC_PHONE, "reconcile").unwrap();
    let json: serde_json::Value = serde_dynamo::from_item(item.clone()).unwrap();
    let json = serde_json::to_string(&json).unwrap();
    let damaged: serde_json::Value =
        serde_json::from_str(&json.replace(DNC_PHONE, "not-a-phone")).unwrap();
    let mut item: std::collections::HashMap<_, _> = serde_dynamo::to_item(damaged).unwrap();
    item.insert("phone".to_owned(), AttributeValue::S(DNC_PHONE.into()));
    world.store.put_raw(item);

    let from = support::changes(&world.store).len();
    for _ in 0..3 {
        support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    }
    // The record of its setting aside (the relay is correct on every record, filter or
    // not) parks nothing again.
    let later = support::changes(&world.store);
    let report = world.relay.relay(&later[from..], support::budget()).await;
    assert_eq!(report.counts.unreadable, 0);
    assert_eq!(world.publisher.quarantined().len(), 1, "parked once");
    assert!(world.waiting().is_empty(), "set aside");
    assert!(world.store.items_under(PARKED_PARTITION).is_empty());
}

#[tokio::test]
async fn a_failed_confirmation_costs_a_second_relay_of_the_same_ids_never_a_loss() {
    let world = World::new();
    record(&world.store, key_9(DNC_PHONE, 0)).await;
    record(
        &world.store,
        scheduled(AHEAD_PHONE, 0, "2099-01-30T10:00:00Z"),
    )
    .await;
    let changes = support::changes(&world.store);
    // DynamoDB fails every confirmation of the batch (the register is another table).
    world.store.fail_next_writes(2);
    let report = world.relay.relay(&changes, support::budget()).await;
    assert_eq!(
        report.retry_from, None,
        "a confirmation is not the batch's failure"
    );
    assert_eq!(report.counts.confirm_failures, 2);
    assert_eq!(world.waiting().len(), 2);
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.counts.reconciled, 2);
    assert!(world.waiting().is_empty());
    let callbacks = world.publisher.sent();
    let ids: BTreeSet<&str> = callbacks.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "one DNC request and one callback, by id");
    assert_eq!(
        world.sent(Queue::Dnc).len(),
        1,
        "at most one request per phone"
    );
}

/// The events of a few leads: key 9s, callbacks ahead, and events that decide nothing.
fn deliveries() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((0usize..3, 0u8..3), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever records the stream loses, once the relay has had what came and the sweep
    /// has run past its grace, every DNC signal decided is on the register with its request
    /// sent, every callback decided is sent, and nothing waits.
    #[test]
    fn whatever_records_the_stream_loses_every_decision_leaves(
        delivered in deliveries(),
        lost in prop::collection::vec(any::<bool>(), 64),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let world = World::new();
            let phones = ["+12025550741", "+12025550742", "+12025550743"];
            let mut decided: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (minute, (lead, kind)) in delivered.iter().enumerate() {
                let (phone, minute) = (phones[*lead], u32::try_from(minute).unwrap());
                let event = match kind {
                    0 => key_9(phone, minute),
                    1 => scheduled(phone, minute, "2099-01-30T10:00:00Z"),
                    _ => initiated(phone, minute),
                };
                if let Recorded::Processed { effects, .. } = record(&world.store, event).await {
                    decided.entry(phone).or_default().extend(effects);
                }
                // The relay gets the records that come, as they come; some never do.
                let changes: Vec<Change> = support::changes(&world.store)
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !lost[i % lost.len()])
                    .map(|(_, change)| change)
                    .collect();
                let report = world.relay.relay(&changes, support::budget()).await;
                prop_assert_eq!(report.retry_from, None);
            }
            support::finished(world.relay.sweep(after_grace(), support::budget()).await);
            prop_assert!(world.waiting().is_empty());
            let dnc: BTreeSet<String> = world.sent(Queue::Dnc).into_iter().collect();
            let callbacks: BTreeSet<String> = world.sent(Queue::Callback).into_iter().collect();
            for (phone, effects) in &decided {
                let is_dnc = effects.contains("dnc");
                prop_assert_eq!(dnc.contains(*phone), is_dnc, "{}", phone);
                if is_dnc {
                    let item = world.register.item(phone).unwrap();
                    prop_assert_eq!(item["requestState"].as_s().unwrap(), "sent");
                }
                // A callback is sent unless its phone is on the register by then.
                if effects.contains("callback") && !is_dnc {
                    prop_assert!(callbacks.contains(*phone), "{} callback", phone);
                }
            }
            prop_assert_eq!(world.sent(Queue::Dnc).len(), dnc.len(), "one request per phone");
            Ok(())
        })?;
    }
}
