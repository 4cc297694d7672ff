//! Any run of DynamoDB Streams answers (pages of any records with any images, empty pages,
//! expired iterators, throttling, a trimmed stream, failures, a closed shard) through the
//! redrive's read and the relay, on in-memory adapters: never a panic, never a hang, and a
//! read counted complete holds only records of the batch, each once, in order.
#![no_main]

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use call_events::adapters::dynamodb::stream::decode_new_image;
use call_events::adapters::{MemoryDncRegister, MemoryLeadStore, MemoryPublisher};
use call_events::core::decided::{Change, sequence_after};
use call_events::ports::{
    BackendError, PageError, ShardPosition, StreamBatch, StreamPage, StreamShards,
};
use call_events::usecases::redrive::read_batch;
use call_events::usecases::relay::Relay;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Answer {
    Page {
        records: Vec<(u16, Vec<u8>)>,
        closed: bool,
    },
    Expired,
    Throttled,
    Gone,
    Failed,
}

#[derive(Debug, Arbitrary)]
struct Script {
    start: u16,
    length: u8,
    no_iterator: bool,
    answers: Vec<Answer>,
}

struct Scripted(Mutex<VecDeque<Answer>>, bool);

impl StreamShards for Scripted {
    async fn iterator(
        &self,
        _batch: &StreamBatch,
        _from: &ShardPosition,
    ) -> Result<Option<String>, PageError> {
        Ok((!self.1).then(|| "it".to_owned()))
    }

    async fn page(&self, _iterator: &str) -> Result<StreamPage, PageError> {
        let answer = self.0.lock().map(|mut a| a.pop_front()).unwrap_or(None);
        match answer {
            // Past the script: an open shard with nothing more, as AWS answers.
            None => Ok(StreamPage {
                changes: Vec::new(),
                next: Some("it".into()),
            }),
            Some(Answer::Page { records, closed }) => Ok(StreamPage {
                changes: records
                    .into_iter()
                    .map(|(seq, image)| Change {
                        sequence_number: seq.to_string(),
                        decided: decode_new_image(
                            serde_json::from_slice(&image).unwrap_or_default(),
                        ),
                    })
                    .collect(),
                next: (!closed).then(|| "it".into()),
            }),
            Some(Answer::Expired) => Err(PageError::Expired),
            Some(Answer::Throttled) => {
                Err(PageError::Throttled(BackendError::new("fuzz", "throttled")))
            }
            Some(Answer::Gone) => Err(PageError::Gone("TrimmedDataAccessException".into())),
            Some(Answer::Failed) => Err(PageError::Backend(BackendError::new("fuzz", "failed"))),
        }
    }
}

fuzz_target!(|script: Script| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let start = u32::from(script.start);
    let end = start + u32::from(script.length);
    let batch = StreamBatch {
        stream_arn: "arn".into(),
        shard_id: "shard".into(),
        start_sequence_number: start.to_string(),
        end_sequence_number: end.to_string(),
        approximate_arrival_of_first_record: None,
        approximate_arrival_of_last_record: None,
        batch_size: None,
    };
    let shards = Scripted(Mutex::new(script.answers.into()), script.no_iterator);
    runtime.block_on(async {
        // A short budget: past the script the shard answers empty pages until it is spent
        // (12 of them here; 80 at 20 s made this target half of the fuzz smoke).
        let by = tokio::time::Instant::now() + Duration::from_secs(3);
        if let Ok(changes) = read_batch(&shards, &batch, by).await {
            for pair in changes.windows(2) {
                assert!(sequence_after(
                    &pair[1].sequence_number,
                    &pair[0].sequence_number
                ));
            }
            for change in &changes {
                let seq = &change.sequence_number;
                assert!(
                    !sequence_after(&batch.start_sequence_number, seq),
                    "{seq} before"
                );
                assert!(
                    !sequence_after(seq, &batch.end_sequence_number),
                    "{seq} after"
                );
            }
            let relay = Relay::new(
                MemoryPublisher::new(),
                MemoryDncRegister::new(),
                MemoryLeadStore::new(),
            );
            relay
                .relay(
                    &changes,
                    tokio::time::Instant::now() + std::time::Duration::from_secs(30),
                )
                .await;
        }
        assert!(
            tokio::time::Instant::now() <= by + Duration::from_secs(1),
            "bounded by its budget"
        );
    });
});
