//! In-memory adapters, for tests: an idempotency store, a register, and actions that
//! record what they did (and fail on the ids they are told to).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use call_events_messages::{CallbackScheduled, DncRequested};

use crate::ports::{ActionError, Actions, Claim, DncRegister, IdempotencyStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    InProgress { until_ms: u64 },
    Completed,
}

#[derive(Debug, Default)]
pub struct MemoryIdempotency {
    records: Mutex<HashMap<String, Record>>,
}

impl MemoryIdempotency {
    /// Marks `id` as claimed by another invocation until `until_ms`.
    pub fn claimed_elsewhere(&self, id: &str, until_ms: u64) {
        lock(&self.records).insert(id.to_owned(), Record::InProgress { until_ms });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        id: &str,
        now_ms: u64,
        in_progress_until_ms: u64,
    ) -> Result<Claim, StoreError> {
        let mut records = lock(&self.records);
        match records.get(id) {
            Some(Record::Completed) => Ok(Claim::Completed),
            Some(Record::InProgress { until_ms }) if *until_ms >= now_ms => Ok(Claim::InProgress),
            _ => {
                records.insert(
                    id.to_owned(),
                    Record::InProgress {
                        until_ms: in_progress_until_ms,
                    },
                );
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(&self, id: &str, _outcome: &str, _now_ms: u64) -> Result<(), StoreError> {
        lock(&self.records).insert(id.to_owned(), Record::Completed);
        Ok(())
    }

    async fn release(&self, id: &str) -> Result<(), StoreError> {
        lock(&self.records).remove(id);
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct MemoryRegister {
    phones: Mutex<HashSet<String>>,
}

impl MemoryRegister {
    pub fn add(&self, phone: &str) {
        lock(&self.phones).insert(phone.to_owned());
    }
}

impl DncRegister for MemoryRegister {
    async fn is_dnc(&self, phone: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.phones).contains(phone))
    }
}

/// Records the id of every message it acted on, in order; fails for the ids in `failing`.
#[derive(Debug, Default)]
pub struct RecordingActions {
    acted: Mutex<Vec<String>>,
    failing: Mutex<HashSet<String>>,
}

impl RecordingActions {
    pub fn fail_on(&self, id: &str) {
        lock(&self.failing).insert(id.to_owned());
    }

    pub fn heal(&self) {
        lock(&self.failing).clear();
    }

    /// The ids acted on, in order.
    pub fn acted(&self) -> Vec<String> {
        lock(&self.acted).clone()
    }

    fn act(&self, id: &str) -> Result<(), ActionError> {
        if lock(&self.failing).contains(id) {
            return Err(ActionError(format!("{id}: failing on purpose")));
        }
        lock(&self.acted).push(id.to_owned());
        Ok(())
    }
}

impl Actions for RecordingActions {
    async fn schedule_callback(&self, callback: &CallbackScheduled) -> Result<(), ActionError> {
        self.act(&callback.id)
    }

    async fn stop_calling(&self, request: &DncRequested) -> Result<(), ActionError> {
        self.act(&request.id)
    }
}
