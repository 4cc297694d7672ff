//! What the service needs from the outside world: a place to keep lead state and a way to
//! send messages. One adapter per backend implements each ([`crate::dynamo`],
//! [`crate::sqs`]); tests may wrap them.

use std::error::Error as StdError;
use std::future::Future;

use crate::domain::{CampaignId, Phone};
use crate::lead::LeadState;
use crate::messages::{QuarantineRecord, QueueMessage};

/// A backend call that failed after the SDK's own retries. Its text is for logs only:
/// it never reaches a response.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct BackendError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl BackendError {
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// A lead as stored: its state, the version the next write must match, and the messages
/// decided but not yet known to be sent (the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLead {
    pub state: LeadState,
    pub version: u64,
    pub outbox: Vec<QueueMessage>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Someone else wrote the lead since it was read: read again and redo.
    #[error("the lead changed since it was read")]
    Conflict,
    #[error(transparent)]
    Backend(#[from] BackendError),
}

pub trait LeadStore: Send + Sync {
    fn load(
        &self,
        campaign_id: &CampaignId,
        phone: &Phone,
    ) -> impl Future<Output = Result<Option<StoredLead>, BackendError>> + Send;

    /// Writes the state and its outbox if the stored version is still `expected_version`
    /// (`None`: the lead must not exist yet).
    fn save(
        &self,
        state: &LeadState,
        outbox: &[QueueMessage],
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), SaveError>> + Send;

    /// Takes sent messages out of the lead's outbox.
    fn mark_sent(
        &self,
        campaign_id: &CampaignId,
        phone: &Phone,
        message_ids: &[&str],
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}

pub trait MessagePublisher: Send + Sync {
    fn send(&self, message: &QueueMessage)
    -> impl Future<Output = Result<(), BackendError>> + Send;

    fn quarantine(
        &self,
        record: &QuarantineRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
