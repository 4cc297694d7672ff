//! The redrive against the stream as AWS serves it (docs/contract.md §5), on the in-memory
//! stream: empty pages before the records, iterators that expire, throttling, a closed
//! shard, a trimmed stream. A read that does not reach the batch's last record is retried,
//! never counted done; a batch the stream no longer holds is written down as a gap.

mod support;

use std::time::Duration;

use call_events::adapters::dynamodb::item::PARKED_PARTITION;
use call_events::adapters::memory::{MemoryStreamShards, StreamPlan};
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::core::domain::CallEvent;
use call_events::core::messages::Queue;
use call_events::ports::ReadError;
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::redrive::{EMPTY_PAGE_PAUSE, Redriven, read_batch, redrive};
use call_events::usecases::relay::{BatchReport, Relay};
use support::{body, parse_call};
use tokio::time::Instant;

const PHONE: &str = "+12025550801";
const CALLBACK_PHONE: &str = "+12025550802";

fn event(event_type: &str, minute: u32, data: &str) -> CallEvent {
    event_of(PHONE, event_type, minute, data)
}

fn event_of(phone: &str, event_type: &str, minute: u32, data: &str) -> CallEvent {
    parse_call(&body(
        event_type,
        "redrive",
        &format!("2024-01-28T12:{minute:02}:00Z"),
        phone,
        data,
    ))
}

/// A lead table whose stream holds a callback (of another phone), then a key 9, then three
/// more writes.
async fn stream_of_five() -> MemoryLeadStore {
    let store = MemoryLeadStore::new();
    let webhook = CallEventRecorder::new(store.clone());
    let events = [
        event_of(
            CALLBACK_PHONE,
            "lead.call_scheduled",
            0,
            r#""scheduledTime":"2099-01-30T10:00:00Z""#,
        ),
        event("lead.call_initiated", 1, r#""isScheduled":true"#),
        event(
            "lead.call_key_pressed",
            2,
            r#""callType":"inbound","keypressNumber":"9""#,
        ),
        event("lead.call_received", 3, ""),
        event(
            "lead.call_key_pressed",
            4,
            r#""callType":"inbound","keypressNumber":"5""#,
        ),
    ];
    for e in &events {
        let header = "t=1,v2=00";
        let evidence = call_events::core::register::evidence_of_request(Some(header), b"{}");
        webhook.record(e, &evidence).await.unwrap();
    }
    assert_eq!(store.stream().len(), 5);
    store
}

struct World {
    shards: MemoryStreamShards,
    publisher: MemoryPublisher,
    lot: MemoryLeadStore,
    relay: Relay<MemoryPublisher, MemoryDncRegister, MemoryLeadStore>,
}

async fn world(plan: StreamPlan) -> World {
    let store = stream_of_five().await;
    let publisher = MemoryPublisher::new();
    let lot = MemoryLeadStore::new();
    World {
        shards: MemoryStreamShards::new(store, plan),
        relay: Relay::new(publisher.clone(), MemoryDncRegister::new(), lot.clone()),
        publisher,
        lot,
    }
}

impl World {
    /// The redrive of the whole stream (Lambda's on-failure record of records 0 to 4),
    /// with `budget` to read it.
    async fn redrive(&self, budget: Duration) -> Redriven {
        let batch = self.shards.batch(0, 4);
        redrive(
            &self.shards,
            &self.relay,
            &batch,
            None,
            Instant::now() + budget,
        )
        .await
    }

    fn sent(&self) -> (usize, usize) {
        let sent = self.publisher.sent();
        let count = |queue| sent.iter().filter(|m| m.queue == queue).count();
        (count(Queue::Callback), count(Queue::Dnc))
    }
}

fn relayed_whole(outcome: &Redriven) {
    let Redriven::Relayed(report) = outcome else {
        panic!("not relayed: {outcome:?}");
    };
    assert_eq!(
        (report.counts.callbacks_sent, report.counts.dnc_sent),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(report.retry_from, None);
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_answers_every_record_at_once_is_relayed_whole() {
    let w = world(StreamPlan::default()).await;
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    assert_eq!(w.sent(), (1, 1));
    assert_eq!(w.shards.calls(), (1, 1), "one iterator, one page");
}

#[tokio::test(start_paused = true)]
async fn empty_pages_before_the_records_are_read_through() {
    let plan = StreamPlan {
        empty_pages_first: 3,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    assert_eq!(w.sent(), (1, 1));
    assert_eq!(w.shards.calls().1, 4, "three empty pages, then the records");
}

#[tokio::test(start_paused = true)]
async fn only_empty_pages_until_the_budget_runs_out_is_retried_and_nothing_is_sent() {
    let plan = StreamPlan {
        empty_pages_first: usize::MAX,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    let outcome = w.redrive(Duration::from_secs(5)).await;
    let Redriven::Retry { why, report } = &outcome else {
        panic!("counted done: {outcome:?}");
    };
    assert!(why.contains("only empty pages"), "{why}");
    assert_eq!(report, &BatchReport::default(), "the relay never ran");
    assert_eq!(
        w.sent(),
        (0, 0),
        "nothing relayed from a read short of the batch"
    );
    // Paced: about one read per pause, not a busy loop.
    let pages = w.shards.calls().1;
    let most = (Duration::from_secs(5).as_millis() / EMPTY_PAGE_PAUSE.as_millis()) as usize + 1;
    assert!(pages <= most, "{pages} reads in 5 s");
}

#[tokio::test(start_paused = true)]
async fn small_pages_are_followed_to_the_batchs_last_record() {
    let plan = StreamPlan {
        page_size: 1,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    assert_eq!(w.shards.calls().1, 5);
}

#[tokio::test(start_paused = true)]
async fn an_expired_iterator_is_renewed_after_the_last_record_read_and_nothing_is_read_twice() {
    let plan = StreamPlan {
        page_size: 1,
        expire_after_pages: Some(2),
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    let batch = w.shards.batch(0, 4);
    let changes = read_batch(&w.shards, &batch, Instant::now() + Duration::from_secs(20))
        .await
        .unwrap();
    let seqs: Vec<&str> = changes.iter().map(|c| c.sequence_number.as_str()).collect();
    let expected: Vec<String> = (1..=5).map(|i| format!("{i:021}")).collect();
    assert_eq!(seqs, expected, "every record once, in order");
    assert!(w.shards.calls().0 >= 3, "renewed: {:?}", w.shards.calls());
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_read_is_tried_again_after_a_pause() {
    let plan = StreamPlan {
        throttle_next: 4,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    let started = Instant::now();
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    assert!(started.elapsed() >= Duration::from_millis(100), "it paused");
}

#[tokio::test(start_paused = true)]
async fn a_read_throttled_past_its_budget_is_retried_not_done() {
    let plan = StreamPlan {
        throttle_next: usize::MAX,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    let outcome = w.redrive(Duration::from_secs(3)).await;
    assert!(
        matches!(&outcome, Redriven::Retry { why, .. } if why.contains("throttled")),
        "{outcome:?}"
    );
    assert_eq!(w.sent(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_closed_shard_read_to_its_end_is_complete() {
    let plan = StreamPlan {
        closed: true,
        page_size: 2,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    // A batch whose last record is past the closed shard's end: complete at the end.
    let mut batch = w.shards.batch(3, 4);
    batch.end_sequence_number = "9".repeat(30);
    let changes = read_batch(&w.shards, &batch, Instant::now() + Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(changes.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_open_shard_past_the_batchs_records_answers_empty_pages_until_retried() {
    let w = world(StreamPlan::default()).await;
    let mut batch = w.shards.batch(3, 4);
    batch.end_sequence_number = "9".repeat(30);
    let read = read_batch(&w.shards, &batch, Instant::now() + Duration::from_secs(2)).await;
    assert!(matches!(read, Err(ReadError::Incomplete(_))), "{read:?}");
}

#[tokio::test(start_paused = true)]
async fn a_trimmed_batch_is_a_gap_written_down_for_the_operator() {
    let plan = StreamPlan {
        trimmed_through: Some(format!("{:021}", 2)),
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    assert_eq!(w.redrive(Duration::from_secs(20)).await, Redriven::Gap);
    let gaps = w.lot.items_under(PARKED_PARTITION);
    assert_eq!(gaps.len(), 1);
    let kind = gaps[0].get("kind").and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(kind.as_deref(), Some("stream-gap"));
    assert_eq!(w.sent(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_is_gone_is_a_gap_too() {
    let plan = StreamPlan {
        gone: true,
        ..StreamPlan::default()
    };
    let w = world(plan).await;
    assert_eq!(w.redrive(Duration::from_secs(20)).await, Redriven::Gap);
}

#[tokio::test(start_paused = true)]
async fn a_redrive_retried_after_a_short_read_relays_once_the_stream_answers() {
    let w = world(StreamPlan {
        empty_pages_first: usize::MAX,
        ..StreamPlan::default()
    })
    .await;
    assert!(matches!(
        w.redrive(Duration::from_secs(2)).await,
        Redriven::Retry { .. }
    ));
    w.shards.set_plan(StreamPlan {
        empty_pages_first: 2,
        expire_after_pages: Some(3),
        throttle_next: 1,
        page_size: 2,
        ..StreamPlan::default()
    });
    relayed_whole(&w.redrive(Duration::from_secs(20)).await);
    assert_eq!(w.sent(), (1, 1));
}

/// Each counter means one thing: a message on the on-failure queue that is not Lambda's
/// record is parked (not a stream gap); a redrive that comes back is deferred (not a send
/// failure: nothing was sent).
#[tokio::test(start_paused = true)]
async fn redrive_counters_say_what_happened() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    use call_events::adapters::dynamodb::stream::decode_new_image;
    use call_events::entrypoints::stream::StreamHandler;
    let w = world(StreamPlan {
        empty_pages_first: usize::MAX,
        ..StreamPlan::default()
    })
    .await;
    let handler = StreamHandler::new(
        w.relay,
        w.shards.clone(),
        call_events::adapters::MemoryArchive::new(),
        decode_new_image,
    );
    let batch = w.shards.batch(0, 4);
    let record = serde_json::json!({ "DDBStreamBatchInfo": batch }).to_string();
    let message = |id: &str, body: &str| {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    };
    let mut event = SqsEvent::default();
    event.records = vec![message("a", "not a record"), message("b", &record)];
    let (response, report) = handler
        .redrive(event, Instant::now() + Duration::from_secs(2))
        .await;
    assert_eq!(
        (report.counts.parked, report.counts.parked_in_table),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(report.gaps, 0, "{report:?}");
    assert_eq!(
        (report.deferred, report.counts.send_failures),
        (1, 0),
        "{report:?}"
    );
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["b"], "only the record not done comes back");
    assert_eq!(w.lot.items_under(PARKED_PARTITION).len(), 1);
}
