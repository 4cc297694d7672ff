//! The lead table's stream in memory, served page by page as DynamoDB Streams serves it,
//! with what AWS does and moto never does, each one to be played ([`StreamPlan`]): empty
//! pages before the records, iterators that expire, throttling, records trimmed, a stream
//! gone, a shard closed or still open.

use std::sync::{Arc, Mutex, MutexGuard};

use super::store::MemoryLeadStore;
use crate::adapters::dynamodb::stream::decode_new_image;
use crate::core::decided::{Change, sequence_after};
use crate::ports::{BackendError, PageError, ShardPosition, StreamBatch, StreamPage, StreamShards};

/// How the stream behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlan {
    /// Records a page holds at most.
    pub page_size: usize,
    /// Empty pages each new iterator answers before its first records.
    pub empty_pages_first: usize,
    /// Pages an iterator chain serves before it expires (`ExpiredIteratorException`); a
    /// renewed iterator starts a new chain.
    pub expire_after_pages: Option<usize>,
    /// Calls still to throttle (`LimitExceededException`), iterators and pages alike.
    pub throttle_next: usize,
    /// Records up to this sequence number are trimmed (`TrimmedDataAccessException`).
    pub trimmed_through: Option<String>,
    /// The stream is gone (`ResourceNotFoundException`).
    pub gone: bool,
    /// The shard is closed: past its last record there is no next iterator. An open shard
    /// answers empty pages there, for ever.
    pub closed: bool,
}

impl Default for StreamPlan {
    fn default() -> Self {
        Self {
            page_size: 1000,
            empty_pages_first: 0,
            expire_after_pages: None,
            throttle_next: 0,
            trimmed_through: None,
            gone: false,
            closed: false,
        }
    }
}

#[derive(Default)]
struct Served {
    plan: StreamPlan,
    iterators: usize,
    pages: usize,
}

/// The stream of a [`MemoryLeadStore`]: one shard, its committed writes in order.
#[derive(Clone)]
pub struct MemoryStreamShards {
    store: MemoryLeadStore,
    served: Arc<Mutex<Served>>,
}

/// Where an iterator points: the index of the next record, pages the chain has served, and
/// empty pages still to answer.
struct Position {
    index: usize,
    served: usize,
    empty_left: usize,
}

impl Position {
    fn parse(iterator: &str) -> Option<Self> {
        let mut parts = iterator.strip_prefix("memory-iterator/")?.split('/');
        let mut next = || parts.next()?.parse().ok();
        Some(Self {
            index: next()?,
            served: next()?,
            empty_left: next()?,
        })
    }

    fn iterator(&self) -> String {
        format!(
            "memory-iterator/{}/{}/{}",
            self.index, self.served, self.empty_left
        )
    }
}

impl MemoryStreamShards {
    pub fn new(store: MemoryLeadStore, plan: StreamPlan) -> Self {
        Self {
            store,
            served: Arc::new(Mutex::new(Served {
                plan,
                ..Served::default()
            })),
        }
    }

    fn served(&self) -> MutexGuard<'_, Served> {
        self.served
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the plan from now on.
    pub fn set_plan(&self, plan: StreamPlan) {
        self.served().plan = plan;
    }

    /// `GetShardIterator` and `GetRecords` calls answered so far (throttled ones included).
    pub fn calls(&self) -> (usize, usize) {
        let served = self.served();
        (served.iterators, served.pages)
    }

    /// The batch Lambda would write down for the stream's records `first..=last` (indices).
    pub fn batch(&self, first: usize, last: usize) -> StreamBatch {
        let stream = self.store.stream();
        StreamBatch {
            stream_arn: "arn:aws:dynamodb:us-east-1:1:table/memory/stream/0".into(),
            shard_id: "shardId-memory".into(),
            start_sequence_number: stream[first].sequence_number.clone(),
            end_sequence_number: stream[last].sequence_number.clone(),
            approximate_arrival_of_first_record: None,
            approximate_arrival_of_last_record: None,
            batch_size: Some((last - first + 1) as u64),
        }
    }
}

fn refused(plan: &mut StreamPlan) -> Result<(), PageError> {
    if plan.throttle_next > 0 {
        plan.throttle_next -= 1;
        return Err(PageError::Throttled(BackendError::new(
            "memory GetRecords",
            "LimitExceededException",
        )));
    }
    if plan.gone {
        return Err(PageError::Gone("ResourceNotFoundException".into()));
    }
    Ok(())
}

fn trimmed(plan: &StreamPlan, sequence_number: &str) -> bool {
    plan.trimmed_through
        .as_deref()
        .is_some_and(|through| !sequence_after(sequence_number, through))
}

impl StreamShards for MemoryStreamShards {
    async fn iterator(
        &self,
        _batch: &StreamBatch,
        from: &ShardPosition,
    ) -> Result<Option<String>, PageError> {
        let stream = self.store.stream();
        let mut served = self.served();
        served.iterators += 1;
        refused(&mut served.plan)?;
        let index = match from {
            ShardPosition::At(seq) => {
                if trimmed(&served.plan, seq) {
                    return Err(PageError::Gone("TrimmedDataAccessException".into()));
                }
                stream
                    .iter()
                    .position(|e| !sequence_after(seq, &e.sequence_number))
            }
            ShardPosition::After(seq) => stream
                .iter()
                .position(|e| sequence_after(&e.sequence_number, seq)),
        }
        .unwrap_or(stream.len());
        if served.plan.closed && index == stream.len() {
            return Ok(None);
        }
        let position = Position {
            index,
            served: 0,
            empty_left: served.plan.empty_pages_first,
        };
        Ok(Some(position.iterator()))
    }

    async fn page(&self, iterator: &str) -> Result<StreamPage, PageError> {
        let stream = self.store.stream();
        let mut served = self.served();
        served.pages += 1;
        refused(&mut served.plan)?;
        let Some(at) = Position::parse(iterator) else {
            return Err(PageError::Backend(BackendError::permanent(
                "memory GetRecords",
                "not an iterator of this stream",
                "ValidationException",
            )));
        };
        let plan = &served.plan;
        if plan.expire_after_pages.is_some_and(|n| at.served >= n) {
            return Err(PageError::Expired);
        }
        if at.empty_left > 0 {
            let next = Position {
                empty_left: at.empty_left - 1,
                served: at.served + 1,
                ..at
            };
            return Ok(StreamPage {
                changes: Vec::new(),
                next: Some(next.iterator()),
            });
        }
        let end = (at.index + plan.page_size).min(stream.len());
        let entries = &stream[at.index.min(end)..end];
        if entries.iter().any(|e| trimmed(plan, &e.sequence_number)) {
            return Err(PageError::Gone("TrimmedDataAccessException".into()));
        }
        let changes = entries
            .iter()
            .map(|e| Change {
                sequence_number: e.sequence_number.clone(),
                decided: decode_new_image(e.new_image.clone()),
            })
            .collect();
        let next = Position {
            index: end,
            served: at.served + 1,
            empty_left: 0,
        };
        Ok(StreamPage {
            changes,
            next: (!(plan.closed && end == stream.len())).then(|| next.iterator()),
        })
    }
}
