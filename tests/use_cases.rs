//! The use cases on the in-memory adapters: the edge paths of the write (conflicts, stale
//! caches, calls per delivery), of the relay (a failure per record), and the property that
//! several webhook instances, each with its own cache, agree on every lead.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use call_events::adapters::MemoryPublisher;
use call_events::adapters::dynamodb::item::stored_lead;
use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore};
use call_events::core::decided::Change;
use call_events::core::decided::Decided;
use call_events::core::domain::CallEvent;
use call_events::core::lead::{Decision, LeadState, decide};
use call_events::core::messages::{Queue, QueueMessage};
use call_events::core::register::Evidence;
use call_events::usecases::record::{CallEventRecorder, Recorded};
use call_events::usecases::relay::Relay;
use proptest::prelude::*;
use support::{body, call_event, changes, parse_call};

const PHONE: &str = "+1234567890";

fn event(event_type: &str, minute: u32, data: &str) -> CallEvent {
    parse_call(&body(
        event_type,
        "camp",
        &format!("2024-01-28T12:{minute:02}:00Z"),
        PHONE,
        data,
    ))
}

fn initiated(minute: u32) -> CallEvent {
    event("lead.call_initiated", minute, r#""isScheduled":false"#)
}

fn key(minute: u32, key: &str) -> CallEvent {
    event(
        "lead.call_key_pressed",
        minute,
        &format!(r#""callType":"inbound","keypressNumber":"{key}""#),
    )
}

fn scheduled(minute: u32) -> CallEvent {
    event(
        "lead.call_scheduled",
        minute,
        r#""scheduledTime":"2024-01-30T10:00:00Z""#,
    )
}

fn instance(store: &MemoryLeadStore) -> CallEventRecorder<MemoryLeadStore> {
    CallEventRecorder::new(store.clone())
}

type MemoryRelay = Relay<MemoryPublisher, MemoryDncRegister, MemoryLeadStore>;

/// The relay of the lead table `store` (it confirms there what it relayed).
fn relay_to(publisher: &MemoryPublisher, store: &MemoryLeadStore) -> MemoryRelay {
    Relay::new(publisher.clone(), MemoryDncRegister::new(), store.clone())
}

/// The signed request an event came in (fixed, so runs compare equal).
fn evidence_of(event: &CallEvent) -> Evidence {
    Evidence {
        received_at: "2024-01-28T13:00:00.000Z".into(),
        signature_header: "t=1706446800000,v2=00".into(),
        body: event.id().to_string(),
        body_base64: None,
    }
}

fn stored_state(store: &MemoryLeadStore) -> Option<LeadState> {
    store
        .item(PHONE, "camp")
        .map(|item| stored_lead(item).unwrap().state)
}

/// Runs the relay over the stream from `from`, as Lambda would; returns where to resume.
async fn relay_from(relay: &MemoryRelay, store: &MemoryLeadStore, from: usize) -> usize {
    let all = changes(store);
    let report = relay.relay(&all[from..], support::budget()).await;
    match report.retry_from {
        Some(seq) => all.iter().position(|c| c.sequence_number == seq).unwrap(),
        None => all.len(),
    }
}

async fn record(recorder: &CallEventRecorder<MemoryLeadStore>, event: &CallEvent) -> Recorded {
    recorder.record(event, &evidence_of(event)).await.unwrap()
}

#[tokio::test]
async fn a_new_lead_costs_one_write_and_a_known_lead_one_write() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    let before = store.writes();
    record(&webhook, &initiated(0)).await;
    assert_eq!(store.writes() - before, 1, "new lead: a conditional create");
    let before = store.writes();
    record(&webhook, &key(1, "9")).await;
    assert_eq!(
        store.writes() - before,
        1,
        "known lead: one write on its version"
    );
}

#[tokio::test]
async fn a_duplicate_the_instance_knows_costs_no_call() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    record(&webhook, &scheduled(0)).await;
    let before = store.writes();
    let again = record(&webhook, &scheduled(0)).await;
    assert!(matches!(again, Recorded::Duplicate { .. }));
    assert_eq!(store.writes(), before);
}

#[tokio::test]
async fn a_lead_another_instance_created_costs_two_writes_and_is_decided_on_its_real_state() {
    let store = MemoryLeadStore::new();
    let (a, b) = (instance(&store), instance(&store));
    record(&a, &key(0, "9")).await;
    let before = store.writes();
    let recorded = record(&b, &scheduled(1)).await;
    assert_eq!(
        store.writes() - before,
        2,
        "failed create, then a write on v1"
    );
    match recorded {
        Recorded::Processed {
            effects,
            callback_suppressed,
            ..
        } => {
            assert!(effects.is_empty(), "the lead is DNC: {effects:?}");
            assert!(callback_suppressed);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_stale_cache_never_gives_a_wrong_answer() {
    let store = MemoryLeadStore::new();
    let (a, b) = (instance(&store), instance(&store));
    record(&a, &initiated(0)).await; // a caches v1
    record(&b, &key(1, "1")).await; // b writes v2 behind a's back
    // a thinks key 1 is new; its write fails its condition and it learns the truth.
    let before = store.writes();
    let again = record(&a, &key(1, "1")).await;
    assert!(matches!(again, Recorded::Duplicate { .. }), "{again:?}");
    assert_eq!(store.writes() - before, 1, "one failed write, no second");
    // a's cache is fresh again: the next event costs one write.
    let before = store.writes();
    record(&a, &initiated(2)).await;
    assert_eq!(store.writes() - before, 1);
    let state = stored_state(&store).unwrap();
    assert_eq!(
        (state.counters.calls_initiated, state.counters.keypresses),
        (2, 1)
    );
}

#[tokio::test]
async fn a_failed_write_is_a_retryable_error_and_the_retry_lands_once() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    store.fail_next_writes(1);
    assert!(
        webhook
            .record(&key(0, "9"), &evidence_of(&key(0, "9")))
            .await
            .is_err()
    );
    assert!(stored_state(&store).is_none());
    assert!(matches!(
        record(&webhook, &key(0, "9")).await,
        Recorded::Processed { .. }
    ));
    assert!(matches!(
        record(&webhook, &key(0, "9")).await,
        Recorded::Duplicate { .. }
    ));
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_is_processed_with_its_effects_once() {
    for (lead, known) in [(scheduled(0), false), (key(1, "9"), true)] {
        let store = MemoryLeadStore::new();
        let webhook = instance(&store);
        if known {
            record(&webhook, &initiated(0)).await;
        }
        store.lose_next_answers(1);
        let recorded = record(&webhook, &lead).await;
        let Recorded::Processed { effects, .. } = recorded else {
            panic!("{recorded:?}: the write met itself and called it a duplicate")
        };
        assert_eq!(effects.len(), 1, "{effects:?}");
        assert!(matches!(
            record(&instance(&store), &lead).await,
            Recorded::Duplicate { .. }
        ));
        let committed = changes(&store).len();
        assert_eq!(
            committed,
            1 + usize::from(known),
            "the write committed once"
        );
    }
}

#[tokio::test]
async fn a_legacy_dnc_created_whose_answer_was_lost_is_processed_once() {
    use call_events::core::register::DncSignalRecord;
    use call_events::ports::Inbox;
    let store = MemoryLeadStore::new();
    let signal =
        call_events::core::lead::DncSignal::of_event(&key(0, "9"), &key(0, "9").id()).unwrap();
    let record = DncSignalRecord::new(&signal, evidence_of(&key(0, "9")));
    store.lose_next_answers(1);
    assert!(store.keep_signal(&record).await.unwrap(), "its own write");
    assert!(!store.keep_signal(&record).await.unwrap(), "a redelivery");
}

#[tokio::test]
async fn a_backend_slower_than_the_deadline_gives_an_error_not_a_hang() {
    let store = MemoryLeadStore::new();
    store.set_latency(Duration::from_secs(30));
    let webhook = CallEventRecorder::with_limits(store.clone(), 16, Duration::from_millis(50));
    let error = webhook
        .record(&initiated(0), &evidence_of(&initiated(0)))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        call_events::usecases::record::RecordError::DeadlineExceeded(_)
    ));
}

#[tokio::test]
async fn relay_stops_at_the_failed_record_and_later_sends_each_message_once() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    record(&webhook, &scheduled(0)).await;
    record(&webhook, &initiated(1)).await;
    record(&webhook, &scheduled(2)).await;
    let publisher = MemoryPublisher::new();
    let relay = relay_to(&publisher, &store);

    publisher.fail_next_sends(1);
    let resume = relay_from(&relay, &store, 0).await;
    assert_eq!(resume, 0, "the first record failed: everything comes again");
    assert!(publisher.sent().is_empty());

    publisher.set_down(false);
    let all = changes(&store);
    let report = relay.relay(&all[resume..], support::budget()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(report.counts.callbacks_sent, 2);
    let sent: Vec<String> = publisher.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0], sent[1]);
}

#[tokio::test]
async fn relay_failing_mid_batch_does_not_let_a_later_message_of_the_phone_overtake() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    record(&webhook, &scheduled(0)).await;
    record(&webhook, &key(2, "9")).await;
    let publisher = MemoryPublisher::new();
    let relay = relay_to(&publisher, &store);
    // The callback goes, the DNC request fails: the batch resumes at the DNC record.
    publisher.fail_next_sends(0);
    let all = changes(&store);
    let first = relay.relay(&all[..1], support::budget()).await;
    assert_eq!(first.retry_from, None);
    publisher.set_down(true);
    let second = relay.relay(&all[1..], support::budget()).await;
    assert_eq!(
        second.retry_from.as_deref(),
        Some(all[1].sequence_number.as_str())
    );
    assert_eq!(second.counts.send_failures, 1);
    publisher.set_down(false);
    assert_eq!(
        relay.relay(&all[1..], support::budget()).await.retry_from,
        None
    );
    let kinds: Vec<Queue> = publisher.sent().into_iter().map(|m| m.queue).collect();
    assert_eq!(kinds, [Queue::Callback, Queue::Dnc]);
}

#[tokio::test]
async fn relay_parks_an_unreadable_record_with_its_reason_and_goes_on() {
    let store = MemoryLeadStore::new();
    record(&instance(&store), &scheduled(0)).await;
    let publisher = MemoryPublisher::new();
    let relay = relay_to(&publisher, &store);
    // A signal whose phone is not E.164: the image cannot be read.
    let image = r#"{"phone":{"S":"+1234567890"},"campaignId":{"S":"camp"},"version":{"N":"1"},"outboxVersion":{"N":"1"},"dncSignals":{"M":{"evt_x":{"M":{"phone":{"S":"not a phone"}}}}}}"#;
    let image: serde_dynamo::Item = serde_json::from_str(image).unwrap();
    let mut batch = vec![Change {
        sequence_number: "0".into(),
        decided: decode_new_image(image.clone()),
    }];
    assert!(batch[0].decided.is_err());
    batch.extend(changes(&store));
    let report = relay.relay(&batch, support::budget()).await;
    assert_eq!((report.counts.unreadable, report.counts.parked), (1, 1));
    assert_eq!(report.retry_from, None, "one bad record holds back nothing");
    assert_eq!(report.counts.callbacks_sent, 1);
    let parked = publisher.quarantined();
    assert!(
        parked[0]
            .reason
            .starts_with("relay: unreadable stream record 0: "),
        "{}",
        parked[0].reason
    );
    // Parked with its image (DynamoDB JSON), so what it held can be put right by hand.
    let kept: serde_dynamo::Item = serde_json::from_str(&parked[0].body).unwrap();
    assert_eq!(kept, image);
}

#[tokio::test]
async fn relay_parks_a_message_sqs_will_never_take_and_retries_one_it_may() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    record(&webhook, &scheduled(0)).await;
    record(&webhook, &scheduled(1)).await;
    let publisher = MemoryPublisher::new();
    let relay = relay_to(&publisher, &store);
    publisher.refuse_next_sends_for_good(1);
    let report = relay.relay(&changes(&store), support::budget()).await;
    assert_eq!((report.counts.parked, report.counts.callbacks_sent), (1, 1));
    assert_eq!(report.retry_from, None);
    assert!(
        publisher.quarantined()[0]
            .reason
            .contains("SQS will never take")
    );
    // A failure that may pass stops the batch instead.
    publisher.fail_next_sends(1);
    let again = relay.relay(&changes(&store), support::budget()).await;
    assert_eq!(again.counts.parked, 0);
    assert!(again.retry_from.is_some());
}

#[tokio::test]
async fn relay_passes_records_that_decided_nothing() {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    record(&webhook, &initiated(0)).await;
    record(&webhook, &key(1, "5")).await;
    let publisher = MemoryPublisher::new();
    let report = relay_to(&publisher, &store)
        .relay(&changes(&store), support::budget())
        .await;
    assert_eq!(report, Default::default());
    assert!(publisher.sent().is_empty());
}

#[tokio::test]
async fn an_item_of_the_first_format_with_unsent_messages_has_them_sent_by_the_next_write() {
    // The first release kept decided messages in `outbox` (no `outboxVersion`) until it
    // had sent them; an SQS outage could leave them there.
    let store = MemoryLeadStore::new();
    let key9 = key(0, "9");
    let Decision::Applied(applied) = decide(None, &key9, &key9.id()) else {
        panic!("new lead")
    };
    // A DNC request as the first release built it (one per campaign and phone).
    let pending = Decided {
        messages: vec![QueueMessage {
            queue: Queue::Dnc,
            id: "dnc-00000000000000000000000000000001".into(),
            message_type: "dnc.requested".into(),
            campaign_id: Some("camp".into()),
            group: PHONE.into(),
            body: r#"{"schemaVersion":1,"type":"dnc.requested"}"#.into(),
        }],
        dnc_signals: Vec::new(),
        quarantine: None,
        relay_mark: None,
    };
    let mut item = call_events::adapters::dynamodb::item::lead_item(
        &applied.state,
        &Decided::default(),
        1,
        key9.event_time,
    )
    .unwrap();
    let outbox: std::collections::BTreeMap<_, _> = pending
        .messages
        .iter()
        .map(|m| (m.id.clone(), m.clone()))
        .collect();
    item.insert(
        "outbox".into(),
        serde_dynamo::to_attribute_value(outbox).unwrap(),
    );
    store.put_raw(item);
    let publisher = MemoryPublisher::new();
    let relay = relay_to(&publisher, &store);
    assert_eq!(
        relay
            .relay(&changes(&store), support::budget())
            .await
            .counts
            .dnc_sent,
        0
    );

    // A redelivery of the same event (a duplicate) rewrites the item so they leave.
    let webhook = instance(&store);
    assert!(matches!(
        record(&webhook, &key9).await,
        Recorded::Duplicate { .. }
    ));
    let all = changes(&store);
    assert_eq!(
        relay
            .relay(&all[1..], support::budget())
            .await
            .counts
            .dnc_sent,
        1
    );
    // From then on the item is of the current format: nothing is carried again.
    record(&webhook, &initiated(1)).await;
    let all = changes(&store);
    assert_eq!(
        relay
            .relay(&all[2..], support::budget())
            .await
            .counts
            .dnc_sent,
        0
    );
    assert_eq!(publisher.sent().len(), 1);
}

/// Deliveries: which instance gets which event (indexes may repeat: duplicates).
fn interleaving() -> impl Strategy<Value = (Vec<CallEvent>, usize, Vec<(usize, usize)>)> {
    (prop::collection::vec(call_event(), 1..10), 2usize..=4).prop_flat_map(|(events, n)| {
        let len = events.len();
        let deliveries = prop::collection::vec((0..n, 0..len), len..len * 3)
            // Every event is delivered at least once.
            .prop_map(move |mut d| {
                d.extend((0..len).map(|i| (i % n, i)));
                d
            })
            .prop_shuffle();
        (Just(events), Just(n), deliveries)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn instances_with_their_own_caches_agree_and_the_relay_sends_each_decision_once(
        (events, instances, deliveries) in interleaving()
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let store = MemoryLeadStore::new();
            let webhooks: Vec<_> = (0..instances).map(|_| instance(&store)).collect();
            let mut decided: BTreeMap<String, usize> = BTreeMap::new();
            for (i, e) in &deliveries {
                let recorded = webhooks[*i]
                    .record(&events[*e], &evidence_of(&events[*e]))
                    .await
                    .unwrap();
                if let Recorded::Processed { effects, .. } = recorded {
                    for effect in effects {
                        *decided.entry(effect.to_owned()).or_default() += 1;
                    }
                }
            }
            // The item is what one instance, given each event once in order, would write.
            let single = MemoryLeadStore::new();
            let one = instance(&single);
            for e in &events {
                one.record(e, &evidence_of(e)).await.unwrap();
            }
            prop_assert_eq!(stored_state(&store), stored_state(&single));

            // The relay, handed the whole stream, sends each decided message once by id.
            let publisher = MemoryPublisher::new();
            let report = relay_to(&publisher, &store).relay(&changes(&store), support::budget()).await;
            prop_assert_eq!(&report.retry_from, &None);
            let sent = publisher.sent();
            let ids: BTreeSet<&str> = sent.iter().map(|m| m.id.as_str()).collect();
            prop_assert_eq!(ids.len(), sent.len(), "an id was sent twice");
            let dnc = sent.iter().filter(|m| m.queue == Queue::Dnc).count();
            let callbacks = sent.len() - dnc;
            let is_dnc = stored_state(&store).is_some_and(|s| s.is_dnc());
            prop_assert_eq!(dnc, usize::from(is_dnc), "one DNC request exactly when DNC");
            prop_assert_eq!(report.counts.dnc_signals_registered, decided.get("dnc").copied().unwrap_or(0));
            // Relayed in one batch, a DNC phone gets no callback at all.
            let decided_callbacks = decided.get("callback").copied().unwrap_or(0);
            prop_assert_eq!(callbacks, if is_dnc { 0 } else { decided_callbacks });
            Ok(())
        })?;
    }
}

/// A delivery for the phone `+1234567890`: a lead event in campaign `a` or `b`, or a legacy
/// (v1) `dnc.created`, which names no campaign.
#[derive(Debug, Clone)]
enum PhoneEvent {
    Lead(CallEvent),
    Legacy(call_events::core::domain::LegacyDncCreated),
}

fn phone_event() -> impl Strategy<Value = PhoneEvent> {
    let lead = (call_event(), prop::sample::select(vec!["a", "b"])).prop_map(|(mut e, c)| {
        e.campaign_id = call_events::core::domain::CampaignId::parse(c).unwrap();
        PhoneEvent::Lead(e)
    });
    let legacy = (0u32..3).prop_map(|m| {
        PhoneEvent::Legacy(call_events::core::domain::LegacyDncCreated {
            phone: call_events::core::domain::Phone::parse(PHONE).unwrap(),
            external_lead_id: None,
            dnc_timestamp: call_events::core::domain::Timestamp::parse(&format!(
                "2024-01-28T11:5{m}:30Z"
            ))
            .unwrap(),
        })
    });
    prop_oneof![4 => lead, 1 => legacy]
}

/// Delivers `events` to one webhook, then relays the whole stream in one batch: the
/// phone's register entry (what of it is a function of the set) and every message sent.
async fn register_and_messages(
    events: &[PhoneEvent],
) -> (
    Option<(String, BTreeSet<String>)>,
    BTreeSet<(String, String)>,
) {
    let store = MemoryLeadStore::new();
    let webhook = instance(&store);
    for event in events {
        match event {
            PhoneEvent::Lead(e) => {
                webhook.record(e, &evidence_of(e)).await.unwrap();
            }
            PhoneEvent::Legacy(e) => {
                let evidence = Evidence {
                    body: e.id().to_string(),
                    body_base64: None,
                    ..evidence_of(&initiated(0))
                };
                webhook.record_legacy_dnc(e, &evidence).await.unwrap();
            }
        }
    }
    let publisher = MemoryPublisher::new();
    let register = MemoryDncRegister::new();
    let report = Relay::new(publisher.clone(), register.clone(), store.clone())
        .relay(&changes(&store), support::budget())
        .await;
    assert_eq!(report.retry_from, None);
    let entry = register.item(PHONE).map(|item| {
        let (entry, _) = call_events::adapters::dynamodb::register::register_entry(item).unwrap();
        assert_eq!(entry.signals as usize, entry.recent_signal_ids.len());
        (
            serde_json::to_string(&entry.first).unwrap(),
            entry.recent_signal_ids.into_iter().collect(),
        )
    });
    let messages = publisher
        .sent()
        .into_iter()
        .map(|m| (m.id, m.body))
        .collect();
    (entry, messages)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn register_entry_and_messages_of_a_phone_are_the_same_in_any_order_across_campaigns(
        (events, delivered) in prop::collection::vec(phone_event(), 1..10).prop_flat_map(|events| {
            let n = events.len();
            prop::collection::vec(0..n, 0..n).prop_flat_map(move |dups| {
                let mut again = events.clone();
                again.extend(dups.iter().map(|&i| events[i].clone()));
                (Just(events.clone()), Just(again).prop_shuffle())
            })
        })
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (expected, actual) = runtime.block_on(async {
            (register_and_messages(&events).await, register_and_messages(&delivered).await)
        });
        prop_assert_eq!(&actual.0, &expected.0, "register entry");
        prop_assert_eq!(&actual.1, &expected.1, "messages");
        let requests = actual.1.iter().filter(|(id, _)| id.starts_with("dnc-")).count();
        prop_assert_eq!(requests, usize::from(actual.0.is_some()), "one request per DNC phone");
        if actual.0.is_some() {
            prop_assert!(actual.1.iter().all(|(id, _)| !id.starts_with("callback-")), "no callback for a DNC phone");
        }
    }
}
