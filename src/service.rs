//! The use case: record one call event for its lead. Reads the lead, lets the pure rules
//! decide, writes the new state together with the messages to send (the outbox) in one
//! conditional write, then sends them and takes them out of the outbox.
//!
//! No message is lost: a message is in the outbox from the moment its state is written
//! until it is sent, and every later delivery for the lead sends what is still there
//! before it answers.

use tracing::warn;

use crate::domain::{CallEvent, EventId, EventType};
use crate::lead::{Decision, decide};
use crate::messages::{QuarantineRecord, QueueMessage};
use crate::ports::{BackendError, LeadStore, MessagePublisher, SaveError};

/// How often a delivery re-reads and retries after losing a race with another writer.
pub const MAX_ATTEMPTS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Processed {
        event_id: EventId,
        event_type: EventType,
        /// `callback` and/or `dnc`: the messages this event caused.
        effects: Vec<&'static str>,
        callback_suppressed: bool,
    },
    Duplicate {
        event_id: EventId,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the lead kept changing: gave up after {MAX_ATTEMPTS} attempts")]
    Contended,
}

pub struct CallEvents<S, P> {
    store: S,
    publisher: P,
}

impl<S: LeadStore, P: MessagePublisher> CallEvents<S, P> {
    pub fn new(store: S, publisher: P) -> Self {
        Self { store, publisher }
    }

    pub async fn record(&self, event: &CallEvent) -> Result<Recorded, RecordError> {
        let id = event.id();
        for _ in 0..MAX_ATTEMPTS {
            let stored = self.store.load(&event.campaign_id, &event.phone).await?;
            let (old, version, mut outbox) = match stored {
                Some(s) => (Some(s.state), Some(s.version), s.outbox),
                None => (None, None, Vec::new()),
            };
            match decide(old.as_ref(), event, &id) {
                Decision::Duplicate => {
                    self.flush(event, &outbox).await?;
                    return Ok(Recorded::Duplicate { event_id: id });
                }
                Decision::Applied(applied) => {
                    let new_messages = applied.effects.iter().map(QueueMessage::from);
                    outbox.extend(new_messages);
                    match self.store.save(&applied.state, &outbox, version).await {
                        Ok(()) => {}
                        Err(SaveError::Conflict) => continue,
                        Err(SaveError::Backend(e)) => return Err(e.into()),
                    }
                    self.flush(event, &outbox).await?;
                    return Ok(Recorded::Processed {
                        event_id: id,
                        event_type: event.event_type(),
                        effects: applied.effects.iter().map(|e| e.label()).collect(),
                        callback_suppressed: applied.callback_suppressed,
                    });
                }
            }
        }
        Err(RecordError::Contended)
    }

    /// Sends every message of the outbox, then takes them out of it. A failed send fails
    /// the delivery (the sender retries, and the message is still in the outbox); a failed
    /// clean-up does not: the messages went out, and a later delivery sends them again
    /// under the same id, which consumers and FIFO deduplication absorb.
    async fn flush(&self, event: &CallEvent, outbox: &[QueueMessage]) -> Result<(), BackendError> {
        if outbox.is_empty() {
            return Ok(());
        }
        for message in outbox {
            self.publisher.send(message).await?;
        }
        let ids: Vec<&str> = outbox.iter().map(|m| m.id.as_str()).collect();
        if let Err(e) = self
            .store
            .mark_sent(&event.campaign_id, &event.phone, &ids)
            .await
        {
            warn!(error = %error_chain(&e), "sent messages stay in the outbox; a later delivery resends them");
        }
        Ok(())
    }

    pub async fn quarantine(&self, record: &QuarantineRecord) -> Result<(), BackendError> {
        self.publisher.quarantine(record).await
    }
}

/// An error and all its sources on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
