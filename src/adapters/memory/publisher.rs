//! Queues in memory, for fast tests of the relay: what was sent, in order, and sends that
//! fail on demand as an SQS outage would. Like SQS, they refuse for good a message whose
//! body or attributes hold a character outside XML 1.0's set.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::core::messages::{OnTheWire, QuarantineRecord, QueueMessage, quarantine_on_the_wire};
use crate::ports::{BackendError, MessagePublisher};

#[derive(Default)]
struct Queues {
    sent: Vec<QueueMessage>,
    quarantined: Vec<QuarantineRecord>,
    down: bool,
    failures_to_inject: usize,
    permanent_failures_to_inject: usize,
    quarantine_refused_for_good: bool,
    /// How long each send takes, as a slow SQS would.
    latency: std::time::Duration,
}

#[derive(Clone, Default)]
pub struct MemoryPublisher(Arc<Mutex<Queues>>);

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every message SQS took, in order.
    pub fn sent(&self) -> Vec<QueueMessage> {
        self.queues().sent.clone()
    }

    pub fn quarantined(&self) -> Vec<QuarantineRecord> {
        self.queues().quarantined.clone()
    }

    /// While down, every send fails.
    pub fn set_down(&self, down: bool) {
        self.queues().down = down;
    }

    /// The next `n` sends fail.
    pub fn fail_next_sends(&self, n: usize) {
        self.queues().failures_to_inject = n;
    }

    /// The next `n` message sends are refused for good, as SQS refuses a message it will
    /// never take (quarantine sends are not affected).
    pub fn refuse_next_sends_for_good(&self, n: usize) {
        self.queues().permanent_failures_to_inject = n;
    }

    /// While set, the quarantine queue refuses every record for good (as SQS refuses a
    /// body it will never take).
    pub fn refuse_quarantine_for_good(&self, refuse: bool) {
        self.queues().quarantine_refused_for_good = refuse;
    }

    /// Every later send takes `latency` before it is answered.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.queues().latency = latency;
    }

    /// A send's latency, if one was set (a zero sleep would still wait for the timer).
    async fn wait(&self) {
        let latency = self.queues().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    fn accept(&self) -> Result<MutexGuard<'_, Queues>, BackendError> {
        let mut queues = self.queues();
        if queues.down {
            return Err(BackendError::new("memory SendMessage", "queues down"));
        }
        if queues.failures_to_inject > 0 {
            queues.failures_to_inject -= 1;
            return Err(BackendError::new("memory SendMessage", "injected failure"));
        }
        Ok(queues)
    }
}

impl MessagePublisher for MemoryPublisher {
    async fn send(&self, message: &QueueMessage) -> Result<(), BackendError> {
        self.wait().await;
        let mut queues = self.accept()?;
        if queues.permanent_failures_to_inject > 0 {
            queues.permanent_failures_to_inject -= 1;
            let why = "SQS will never take the message";
            return Err(BackendError::permanent(
                "memory SendMessage",
                why,
                "refused",
            ));
        }
        refuse_what_sqs_refuses(&message.on_the_wire())?;
        queues.sent.push(message.clone());
        Ok(())
    }

    async fn quarantine(&self, record: &QuarantineRecord) -> Result<(), BackendError> {
        self.wait().await;
        let mut queues = self.accept()?;
        if queues.quarantine_refused_for_good {
            let why = "SQS will never take the message";
            return Err(BackendError::permanent(
                "memory SendMessage",
                why,
                "refused",
            ));
        }
        refuse_what_sqs_refuses(&quarantine_on_the_wire(record))?;
        queues.quarantined.push(record.clone());
        Ok(())
    }
}

/// What SQS answers a message holding a character it does not take.
fn refuse_what_sqs_refuses(message: &OnTheWire<'_>) -> Result<(), BackendError> {
    match message.sqs_takes() {
        true => Ok(()),
        false => Err(BackendError::permanent(
            "memory SendMessage",
            "SQS will not take the message",
            "InvalidMessageContents: Invalid characters found",
        )),
    }
}
