//! The safety net keeps every older promise, on the in-memory adapters (which refuse an
//! item over 400 KB as DynamoDB does, and apply the webhook's UpdateItem and the relay's
//! confirmations through the same plans as on DynamoDB):
//! - one conditional write per warm delivery, with the relay running and confirming
//!   (docs/contract.md §2);
//! - writes found late keep the batch's rule: no callback leaves for a phone whose DNC
//!   signal the same sweep found, whichever campaign holds it (§5);
//! - any body fits, carried or not: two 256 KiB opt-outs and a callback on one lead while
//!   the relay is down are all written, and the register gets the earliest's body whole (§5).
//!
//! `tests/aws_older_promises.rs` plays the first and the last on moto.

mod support;

use std::collections::BTreeSet;

use call_events::adapters::MemoryLeadStore;
use call_events::adapters::dynamodb::item::{MAX_ITEM_BYTES, item_size};
use call_events::core::domain::{CallEvent, Timestamp};
use call_events::core::messages::Queue;
use call_events::core::register::Evidence;
use call_events::usecases::record::{CallEventRecorder, Recorded};
use call_events::usecases::relay::RECONCILE_GRACE;
use proptest::prelude::*;
use support::memory::World;
use support::{body, parse_call};

impl World {
    fn callbacks_sent(&self, phone: &str) -> usize {
        let sent = self.publisher.sent().into_iter();
        sent.filter(|m| m.queue == Queue::Callback && m.group == phone)
            .count()
    }

    /// Relays every record the table's stream holds from `from` on; returns where it ends.
    async fn relay_from(&self, from: usize) -> usize {
        let changes = support::changes(&self.store);
        let report = self.relay.relay(&changes[from..], support::budget()).await;
        assert_eq!(report.retry_from, None);
        changes.len()
    }
}

fn event(
    phone: &str,
    campaign: &str,
    event_type: &str,
    second: u32,
    data: &str,
) -> (CallEvent, Evidence) {
    let raw = body(
        event_type,
        campaign,
        &format!("2024-01-28T12:{:02}:{:02}Z", second / 60, second % 60),
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

fn key_9(phone: &str, campaign: &str, second: u32) -> (CallEvent, Evidence) {
    let data = r#""callType":"inbound","keypressNumber":"9""#;
    event(phone, campaign, "lead.call_key_pressed", second, data)
}

fn scheduled(phone: &str, campaign: &str, second: u32) -> (CallEvent, Evidence) {
    let data = r#""scheduledTime":"2099-01-30T10:00:00Z""#;
    event(phone, campaign, "lead.call_scheduled", second, data)
}

fn simple(phone: &str, campaign: &str, event_type: &str, second: u32) -> (CallEvent, Evidence) {
    event(
        phone,
        campaign,
        event_type,
        second,
        r#""callType":"outbound""#,
    )
}

/// A `call_ended` with `callResult: dnc` whose body is padded to about `size` bytes.
fn dnc_ended_of_size(
    phone: &str,
    campaign: &str,
    second: u32,
    size: usize,
) -> (CallEvent, Evidence) {
    let pad = "x".repeat(size.saturating_sub(400));
    let data = format!(r#""callType":"inbound","callResult":"dnc","pad":"{pad}""#);
    event(phone, campaign, "lead.call_ended", second, &data)
}

fn key_9_of_size(phone: &str, campaign: &str, second: u32, size: usize) -> (CallEvent, Evidence) {
    let pad = "x".repeat(size.saturating_sub(400));
    let data = format!(r#""callType":"inbound","keypressNumber":"9","pad":"{pad}""#);
    event(phone, campaign, "lead.call_key_pressed", second, &data)
}

async fn deliver(
    webhook: &CallEventRecorder<MemoryLeadStore>,
    (event, evidence): (CallEvent, Evidence),
) -> Recorded {
    webhook.record(&event, &evidence).await.unwrap()
}

fn after_grace() -> Timestamp {
    let later = Timestamp::now().to_unix_parts().0 + RECONCILE_GRACE.as_secs() as i64 + 60;
    Timestamp::from_unix_parts(later, 0).unwrap()
}

#[tokio::test]
async fn a_warm_instance_writes_each_delivery_once_while_the_relay_confirms_what_it_sent() {
    // The issue's sequence: new lead, callback, (relay confirms), known lead, key 9,
    // (relay confirms), known lead.
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let phone = "+12025550801";
    let mut relayed = 0;
    let mut calls = Vec::new();
    let steps: [((CallEvent, Evidence), bool); 5] = [
        (simple(phone, "spring", "lead.call_initiated", 1), false),
        (scheduled(phone, "spring", 2), true),
        (simple(phone, "spring", "lead.call_received", 3), false),
        (key_9(phone, "spring", 4), true),
        (
            event(
                phone,
                "spring",
                "lead.call_ended",
                5,
                r#""callType":"inbound","callResult":"no_response""#,
            ),
            false,
        ),
    ];
    for (delivery, then_relay) in steps {
        let before = world.store.writes();
        assert!(matches!(
            deliver(&webhook, delivery).await,
            Recorded::Processed { .. }
        ));
        calls.push(world.store.writes() - before);
        if then_relay {
            let before = world.store.writes();
            relayed = world.relay_from(relayed).await;
            assert!(world.store.writes() > before, "the relay confirmed");
        }
    }
    assert_eq!(calls, vec![1, 1, 1, 1, 1], "one write per delivery");
    assert_eq!(world.callbacks_sent(phone), 1);
    assert!(world.register.item(phone).is_some());
    // Nothing confirmed was carried: later records relay nothing again.
    let before = world.publisher.sent().len();
    world.relay_from(relayed).await;
    assert_eq!(world.publisher.sent().len(), before);
}

#[tokio::test]
async fn a_record_relays_only_its_own_write_so_nothing_leaves_twice_for_being_still_there() {
    // Two writes before the relay sees the first: the second's image still holds the
    // first's entry, which its own record relays.
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let phone = "+12025550802";
    deliver(&webhook, scheduled(phone, "spring", 1)).await;
    deliver(&webhook, simple(phone, "spring", "lead.call_received", 2)).await;
    world.relay_from(0).await;
    let ids: Vec<String> = world.publisher.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.waiting_found, 0);
}

#[tokio::test]
async fn two_256_kib_opt_outs_and_a_callback_on_one_lead_fit_while_the_relay_is_down() {
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let phone = "+12025550803";
    let size = 256 * 1024 - 64;
    // A key 9, a callback, then a `call_ended` (dnc) a second later but delivered first.
    let early = key_9_of_size(phone, "spring", 10, size);
    let early_body = early.1.body.clone();
    deliver(&webhook, dnc_ended_of_size(phone, "spring", 11, size)).await;
    deliver(&webhook, scheduled(phone, "spring", 5)).await;
    let recorded = deliver(&webhook, early).await;
    assert!(
        matches!(recorded, Recorded::Processed { .. }),
        "{recorded:?}"
    );
    let item = world.store.item(phone, "spring").unwrap();
    assert!(item_size(&item) <= MAX_ITEM_BYTES, "{}", item_size(&item));
    // Every record lost: the sweep relays the lead's entries as one batch.
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.counts.dnc_signals_registered, 2);
    assert_eq!(
        world.callbacks_sent(phone),
        0,
        "the phone is on the register"
    );
    let entry = world.register.item(phone).unwrap();
    let evidence = &entry["evidence"].as_m().unwrap()["body"];
    assert_eq!(
        evidence.as_s().unwrap(),
        &early_body,
        "the earliest's body, whole"
    );
    assert_eq!(entry["signals"].as_n().unwrap(), "2");
}

#[tokio::test]
async fn a_lead_holds_one_evidence_body_whatever_the_order_of_its_opt_outs() {
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let phone = "+12025550804";
    let size = 200 * 1024;
    for second in [30, 20, 40, 10] {
        let recorded = deliver(
            &webhook,
            key_9_of_size(phone, &format!("c{second}"), second, size),
        );
        assert!(matches!(recorded.await, Recorded::Processed { .. }));
        let recorded = deliver(&webhook, dnc_ended_of_size(phone, "one", second, size));
        assert!(matches!(recorded.await, Recorded::Processed { .. }));
    }
    let item = world.store.item(phone, "one").unwrap();
    let bodies = item["dncBodies"].as_m().unwrap();
    assert_eq!(bodies.len(), 1, "{:?}", bodies.keys());
    assert!(item_size(&item) <= MAX_ITEM_BYTES);
}

/// One phone's late writes over a few campaigns: (campaign, key 9 or callback).
fn late_writes() -> impl Strategy<Value = Vec<(usize, bool)>> {
    prop::collection::vec((0usize..4, any::<bool>()), 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every stream record lost (and the on-failure destination failing too): the sweep
    /// finds the writes late, over several phones at once, and no callback leaves for a
    /// phone whose DNC signal it found; every other callback leaves.
    #[test]
    fn writes_found_late_never_send_a_callback_for_a_phone_they_opt_out(
        phones in prop::collection::vec(late_writes(), 1..4),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let world = World::new();
            // A register as slow as DynamoDB is, next to SQS: a callback checked while a
            // signal of its phone is still being registered would leave.
            world.register.set_latency(std::time::Duration::from_millis(2));
            let webhook = CallEventRecorder::new(world.store.clone());
            let mut opted_out = BTreeSet::new();
            for (p, writes) in phones.iter().enumerate() {
                let phone = format!("+1202555081{p}");
                for (second, (campaign, is_key_9)) in writes.iter().enumerate() {
                    let campaign = format!("c{campaign}");
                    let second = u32::try_from(second).unwrap();
                    let delivery = match is_key_9 {
                        true => key_9(&phone, &campaign, second),
                        false => scheduled(&phone, &campaign, second),
                    };
                    deliver(&webhook, delivery).await;
                    if *is_key_9 {
                        opted_out.insert(phone.clone());
                    }
                }
            }
            support::finished(world.relay.sweep(after_grace(), support::budget()).await);
            for (p, writes) in phones.iter().enumerate() {
                let phone = format!("+1202555081{p}");
                let sent = world.callbacks_sent(&phone);
                match opted_out.contains(&phone) {
                    true => prop_assert_eq!(sent, 0, "{} {:?}", phone, writes),
                    false => prop_assert_eq!(sent, writes.len()),
                }
            }
            Ok(())
        })?;
    }
}

/// A register entry of an imported list whose request the import owes since `since`.
fn imported_entry(phone: &str, since: Timestamp) -> call_events::core::register::RegisterEntry {
    use call_events::core::domain::Phone;
    use call_events::core::import::{ImportRun, imported_signal, take};
    let run = ImportRun {
        source: "crm".into(),
        file_sha256: "00".repeat(32),
        imported_at: since,
    };
    let phone = Phone::parse(phone).unwrap();
    let signal = imported_signal(&run, phone.clone(), None, 1, phone.as_str().to_owned());
    take(None, &signal, since, true).1
}

#[tokio::test]
async fn an_imports_requests_leave_at_their_own_pace_after_every_platform_request() {
    use call_events::core::domain::Phone;
    use call_events::core::register::RequestState;
    use call_events::ports::DncRegisterStore;
    use call_events::usecases::relay::IMPORTED_SWEEP_LIMIT;
    let world = World::new();
    let imported = IMPORTED_SWEEP_LIMIT + 500;
    let an_hour_ago = Timestamp::now().minus(std::time::Duration::from_secs(3600));
    for i in 0..imported {
        let phone = format!("+1303{:07}", 1_000_000 + i);
        let entry = imported_entry(&phone, an_hour_ago);
        assert!(matches!(entry.request, RequestState::PendingImport { .. }));
        let phone = Phone::parse(&phone).unwrap();
        world.register.save(&phone, &entry, None).await.unwrap();
    }
    // A platform opt-out, later than every import (its stream record lost): its request
    // goes first all the same.
    let webhook = CallEventRecorder::new(world.store.clone());
    deliver(&webhook, key_9("+12025550880", "spring", 1)).await;
    let now = after_grace();
    let first = support::finished(world.relay.sweep(now, support::budget()).await);
    assert_eq!(first.counts.dnc_signals_registered, 1);
    assert_eq!(first.imported_found, IMPORTED_SWEEP_LIMIT);
    assert_eq!(first.imported_sent, IMPORTED_SWEEP_LIMIT);
    assert_eq!(first.counts.dnc_sent, IMPORTED_SWEEP_LIMIT + 1);
    let sent = world.publisher.sent();
    assert_eq!(sent[0].group, "+12025550880", "the platform's first");
    assert!(first.oldest_imported_seconds.unwrap() >= 3600);
    let second = support::finished(world.relay.sweep(now, support::budget()).await);
    assert_eq!((second.imported_found, second.imported_sent), (500, 500));
    let third = support::finished(world.relay.sweep(now, support::budget()).await);
    assert_eq!(
        (third.imported_found, third.oldest_imported_seconds),
        (0, Some(0))
    );
}

#[tokio::test]
async fn a_platform_opt_out_of_an_imported_phone_is_owed_at_the_platforms_pace() {
    use call_events::core::domain::Phone;
    use call_events::core::register::RequestState;
    use call_events::ports::DncRegisterStore;
    let world = World::new();
    let phone = "+12025550881";
    let entry = imported_entry(phone, Timestamp::now());
    world
        .register
        .save(&Phone::parse(phone).unwrap(), &entry, None)
        .await
        .unwrap();
    let webhook = CallEventRecorder::new(world.store.clone());
    deliver(&webhook, key_9(phone, "spring", 1)).await;
    world.relay_from(0).await;
    let (entry, _) = world
        .register
        .load(&Phone::parse(phone).unwrap())
        .await
        .unwrap()
        .unwrap();
    // The stream's pass sent it at once, as it sends any platform request.
    assert!(
        matches!(entry.request, RequestState::Sent { .. }),
        "{:?}",
        entry.request
    );
}

#[tokio::test]
async fn a_quarantined_body_whose_record_is_lost_is_forwarded_by_the_sweep_once() {
    use call_events::core::messages::QuarantineRecord;
    use call_events::ports::Inbox;
    let world = World::new();
    let record = QuarantineRecord::new("2024-01-28T13:00:00.000Z", "not JSON", b"{oops");
    world.store.keep_quarantined(&record).await.unwrap();
    // Its stream record never reaches the relay: the item waits in the relay's index.
    let lost = support::changes(&world.store).len();
    let swept = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(swept.counts.quarantine_forwarded, 1);
    assert_eq!(world.publisher.quarantined().len(), 1);
    // The record of its confirmation (the relay is correct on every record) forwards
    // nothing again, and nothing waits.
    world.relay_from(lost).await;
    assert_eq!(world.publisher.quarantined().len(), 1);
    let again = support::finished(world.relay.sweep(after_grace(), support::budget()).await);
    assert_eq!(again.waiting_found, 0);
}

#[tokio::test]
async fn a_write_whose_outbox_was_written_over_by_an_earlier_release_still_lands() {
    // During a canary, the earlier release writes a lead whole (a put), without this
    // release's outbox: a warm instance of this release then adds to a map that is gone.
    let world = World::new();
    let webhook = CallEventRecorder::new(world.store.clone());
    let phone = "+12025550890";
    deliver(&webhook, scheduled(phone, "spring", 1)).await;
    world.relay_from(0).await;
    let mut item = world.store.item(phone, "spring").unwrap();
    item.remove("relayOutbox");
    item.remove("dncBodies");
    world.store.put_raw(item);
    let recorded = deliver(&webhook, key_9(phone, "spring", 2)).await;
    assert!(
        matches!(recorded, Recorded::Processed { .. }),
        "{recorded:?}"
    );
    let item = world.store.item(phone, "spring").unwrap();
    assert_eq!(item["relayOutbox"].as_m().unwrap().len(), 1);
    assert_eq!(item["keypresses"].as_n().unwrap(), "1");
}
