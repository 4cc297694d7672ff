//! The webhook's secret store in memory: a value to change, and a count of reads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::signature::Secret;
use crate::ports::{BackendError, WebhookSecrets};

#[derive(Clone, Default)]
pub struct MemorySecrets(Arc<Mutex<(Vec<Secret>, usize, bool)>>, Arc<Mutex<Duration>>);

impl MemorySecrets {
    pub fn new(secrets: Vec<Secret>) -> Self {
        Self(Arc::new(Mutex::new((secrets, 0, false))), Arc::default())
    }

    /// Every later read takes this long, as a slow Secrets Manager would.
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut slow) = self.1.lock() {
            *slow = latency;
        }
    }

    /// What the store holds from now on.
    pub fn put(&self, secrets: Vec<Secret>) {
        if let Ok(mut store) = self.0.lock() {
            store.0 = secrets;
        }
    }

    /// While down, every read fails.
    pub fn set_down(&self, down: bool) {
        if let Ok(mut store) = self.0.lock() {
            store.2 = down;
        }
    }

    /// Reads so far.
    pub fn reads(&self) -> usize {
        self.0.lock().map(|store| store.1).unwrap_or_default()
    }
}

impl WebhookSecrets for MemorySecrets {
    async fn read(&self) -> Result<Vec<Secret>, BackendError> {
        let latency = self.1.lock().map(|l| *l).unwrap_or_default();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut store = self
            .0
            .lock()
            .map_err(|_| BackendError::new("memory secret", "poisoned"))?;
        store.1 += 1;
        match store.2 {
            true => Err(BackendError::new("memory secret", "unavailable")),
            false => Ok(store.0.clone()),
        }
    }
}
