//! The quarantine queue in memory, for fast tests of the replay's rules: messages are
//! received in order, hidden while received, removed or released as SQS does.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::core::messages::QuarantineRecord;
use crate::ports::{BackendError, QuarantineQueue, Quarantined};

#[derive(Default)]
struct Queue {
    /// (message id, body, hidden) in arrival order.
    messages: Vec<(String, String, bool)>,
    next_id: usize,
}

#[derive(Clone, Default)]
pub struct MemoryQuarantineQueue(Arc<Mutex<Queue>>);

impl MemoryQuarantineQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends a message with this body, as anyone allowed `sqs:SendMessage` could.
    pub fn send_body(&self, body: impl Into<String>) {
        let mut queue = self.queue();
        queue.next_id += 1;
        let id = format!("m{}", queue.next_id);
        queue.messages.push((id, body.into(), false));
    }

    /// Sends a quarantine record, as the relay forwards one.
    pub fn send(&self, record: &QuarantineRecord) {
        self.send_body(call_events_messages::to_json(record));
    }

    /// The bodies on the queue, visible or not.
    pub fn bodies(&self) -> Vec<String> {
        self.queue()
            .messages
            .iter()
            .map(|(_, body, _)| body.clone())
            .collect()
    }
}

impl QuarantineQueue for MemoryQuarantineQueue {
    async fn receive(&self) -> Result<Vec<Quarantined>, BackendError> {
        let mut queue = self.queue();
        let mut batch = Vec::new();
        for (id, body, hidden) in queue.messages.iter_mut().filter(|m| !m.2).take(10) {
            *hidden = true;
            batch.push(Quarantined {
                message_id: id.clone(),
                receipt: id.clone(),
                record: serde_json::from_str(body).map_err(|e| e.to_string()),
            });
        }
        Ok(batch)
    }

    async fn remove(&self, receipt: &str) -> Result<(), BackendError> {
        self.queue().messages.retain(|(id, _, _)| id != receipt);
        Ok(())
    }

    async fn release(&self, receipt: &str) -> Result<(), BackendError> {
        for (id, _, hidden) in &mut self.queue().messages {
            if id == receipt {
                *hidden = false;
            }
        }
        Ok(())
    }
}
