//! Deadlines everywhere, on the in-memory adapters with tokio's clock paused: a stream
//! batch is answered before the function's timeout whatever SQS's latency, and what it did
//! not relay comes again without anything sent twice; a sweep handles each entry under its
//! deadline, runs its backlog several at a time, and one that ran out of time is no failure.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::core::domain::Timestamp;
use call_events::core::register::Evidence;
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::relay::{Relay, SWEEP_CONCURRENCY, SWEEP_GRACE, SweepStop};
use support::{body, changes, parse_call};
use tokio::time::Instant;

type MemoryRelay = Relay<MemoryPublisher, MemoryDncRegister, MemoryLeadStore>;

/// One lead event per phone, `n` phones: a callback each, or a key 9 each.
async fn record_each(store: &MemoryLeadStore, n: usize, key_9: bool) {
    for i in 0..n {
        let (event_type, data) = match key_9 {
            true => (
                "lead.call_key_pressed",
                r#""callType":"inbound","keypressNumber":"9""#,
            ),
            false => (
                "lead.call_scheduled",
                r#""scheduledTime":"2099-01-30T10:00:00Z""#,
            ),
        };
        let phone = format!("+1202555{i:04}");
        let raw = body(event_type, "spring", "2024-01-28T12:00:00Z", &phone, data);
        let event = parse_call(&raw);
        let evidence = Evidence {
            received_at: "2024-01-28T13:00:00.000Z".into(),
            signature_header: "t=1,v2=00".into(),
            body: raw,
            body_base64: None,
        };
        CallEventRecorder::new(store.clone())
            .record(&event, &evidence)
            .await
            .unwrap();
    }
}

fn world() -> (
    MemoryLeadStore,
    MemoryPublisher,
    MemoryDncRegister,
    MemoryRelay,
) {
    let (store, publisher, register) = (
        MemoryLeadStore::new(),
        MemoryPublisher::new(),
        MemoryDncRegister::new(),
    );
    let relay = Relay::new(publisher.clone(), register.clone(), store.clone());
    (store, publisher, register, relay)
}

#[tokio::test(start_paused = true)]
async fn a_batch_under_slow_sqs_is_answered_before_the_timeout_and_nothing_is_sent_twice() {
    let (store, publisher, _, relay) = world();
    record_each(&store, 10, false).await;
    let batch = changes(&store);
    publisher.set_latency(Duration::from_secs(5));

    // The function's timeout is 30 s; the stream handler stops 2 s before it.
    let started = Instant::now();
    let timeout = started + Duration::from_secs(30);
    let report = relay.relay(&batch, timeout - Duration::from_secs(2)).await;
    assert!(Instant::now() <= timeout - Duration::from_secs(2));
    assert_eq!(report.counts.callbacks_sent, 5, "5 s each, 28 s in all");
    let retry_from = report.retry_from.expect("the rest comes again");
    assert_eq!(retry_from, batch[5].sequence_number);

    // Lambda hands over the rest; SQS is quick again.
    publisher.set_latency(Duration::ZERO);
    let rest = &batch[5..];
    let again = relay.relay(rest, support::budget()).await;
    assert_eq!((again.counts.callbacks_sent, again.retry_from), (5, None));
    let ids: BTreeSet<String> = publisher.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(
        (publisher.sent().len(), ids.len()),
        (10, 10),
        "each sent once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sweep_stops_at_its_deadline_even_inside_a_slow_entry_and_that_is_no_failure() {
    let (store, publisher, register, relay) = world();
    record_each(&store, 3, true).await;
    publisher.set_down(true);
    relay.relay(&changes(&store), support::budget()).await;
    publisher.set_down(false);
    publisher.set_latency(Duration::from_secs(60));

    let later = Timestamp::from_unix_parts(Timestamp::now().to_unix_parts().0 + 3600, 0).unwrap();
    let by = Instant::now() + Duration::from_secs(27);
    let swept = relay.sweep(later, by).await;
    assert!(Instant::now() <= by, "a slow entry ran past the deadline");
    assert!(
        matches!(swept.stopped, Some(SweepStop::OutOfTime(_))),
        "{:?}",
        swept.stopped
    );
    assert_eq!(swept.report.pending_found, 3);
    assert_eq!(swept.report.counts.dnc_sent, 0);

    // The next sweep sends them all, once.
    publisher.set_latency(Duration::ZERO);
    let swept = relay.sweep(later, support::budget()).await;
    assert_eq!((swept.stopped, swept.report.counts.dnc_sent), (None, 3));
    let pending = call_events::ports::DncRegisterStore::pending(&register, later, 10);
    assert!(pending.await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_sweep_works_its_backlog_several_entries_at_a_time() {
    let (store, publisher, _, relay) = world();
    let backlog = 4 * SWEEP_CONCURRENCY;
    record_each(&store, backlog, true).await;
    publisher.set_down(true);
    relay.relay(&changes(&store), support::budget()).await;
    publisher.set_down(false);
    publisher.set_latency(Duration::from_millis(100));

    let later = Timestamp::now().to_unix_parts().0 + SWEEP_GRACE.as_secs() as i64 + 60;
    let later = Timestamp::from_unix_parts(later, 0).unwrap();
    let started = Instant::now();
    let swept = relay.sweep(later, support::budget()).await;
    assert_eq!(
        (swept.stopped, swept.report.counts.dnc_sent),
        (None, backlog)
    );
    // On tokio's paused clock: one after the other would take a send's latency per entry;
    // SWEEP_CONCURRENCY at a time takes it once per SWEEP_CONCURRENCY entries.
    let one_by_one = Duration::from_millis(100) * backlog as u32;
    assert!(started.elapsed() <= one_by_one / (SWEEP_CONCURRENCY as u32 / 2));
}
