//! Any SQS event through the example consumer, on in-memory adapters: never a panic, and
//! the answer names only messages of the batch, each at most once.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use aws_lambda_events::event::sqs::SqsEvent;
use example_consumer::Consumer;
use example_consumer::memory::{MemoryIdempotency, MemoryRegister, RecordingActions};
use libfuzzer_sys::fuzz_target;

type Fixture = (
    tokio::runtime::Runtime,
    Consumer<RecordingActions, MemoryIdempotency, MemoryRegister>,
);

fn consumer() -> &'static Fixture {
    static CONSUMER: OnceLock<Fixture> = OnceLock::new();
    CONSUMER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let consumer = Consumer::new(
            RecordingActions::default(),
            MemoryIdempotency::default(),
            MemoryRegister::default(),
        );
        (runtime, consumer)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<SqsEvent>(data) else {
        return;
    };
    let (runtime, consumer) = consumer();
    let response = runtime.block_on(consumer.handle(&event, 0, 1));
    let ids: HashSet<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect();
    let mut seen = HashSet::new();
    for failure in &response.batch_item_failures {
        assert!(ids.contains(&failure.item_identifier));
        // A batch may repeat a message id; the answer then names it once per record.
        if event.records.len() == ids.len() {
            assert!(seen.insert(failure.item_identifier.clone()));
        }
    }
});
