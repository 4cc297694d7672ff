//! The relay's on-failure bucket in memory: objects by bucket and key, as Lambda writes
//! them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ports::{BackendError, FailureArchive};

/// Objects by (bucket, key).
type Objects = HashMap<(String, String), Vec<u8>>;

#[derive(Clone, Default)]
pub struct MemoryArchive(Arc<Mutex<Objects>>);

impl MemoryArchive {
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self) -> MutexGuard<'_, Objects> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts an object, as Lambda puts an invocation record.
    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.objects()
            .insert((bucket.to_owned(), key.to_owned()), bytes);
    }

    /// Removes an object, as the bucket's lifecycle expires it.
    pub fn expire(&self, bucket: &str, key: &str) {
        self.objects().remove(&(bucket.to_owned(), key.to_owned()));
    }
}

impl FailureArchive for MemoryArchive {
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self
            .objects()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned())
    }
}
