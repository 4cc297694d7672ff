//! What the consumer needs from the outside world: where it records which messages it has
//! handled, the DNC register, and the actions themselves.

use std::error::Error as StdError;
use std::future::Future;

use call_events_messages::{CallbackScheduled, DncRequested};

/// A store call that failed. It may pass: the message is failed and retried.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct StoreError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl StoreError {
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

/// An action that failed; the message is failed and retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ActionError(pub String);

/// What claiming a message id found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation owns the id: act, then complete or release it.
    Acquired,
    /// The message was handled before: skip it.
    Completed,
    /// Another invocation is handling it right now: fail this copy, SQS brings it back.
    InProgress,
}

/// Which message ids were handled, Powertools-style: a claim is a conditional put that
/// only succeeds when the id is unknown, expired, or claimed by an invocation whose deadline
/// has passed.
pub trait IdempotencyStore {
    /// Claims `id` until `in_progress_until_ms` (Unix epoch, milliseconds: the invocation's
    /// deadline), at `now_ms`.
    fn claim(
        &self,
        id: &str,
        now_ms: u64,
        in_progress_until_ms: u64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Marks `id` handled, with what was done, until the record expires.
    fn complete(
        &self,
        id: &str,
        outcome: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives the claim up after a failed action, so that the retry acts.
    fn release(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The company-wide DNC register (the receiver's `DNC_TABLE_NAME`).
pub trait DncRegister {
    /// Whether `phone` must not be called.
    fn is_dnc(&self, phone: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What the consumer does with a message: the team's own code goes here.
pub trait Actions {
    fn schedule_callback(
        &self,
        callback: &CallbackScheduled,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;

    fn stop_calling(
        &self,
        request: &DncRequested,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
}

/// The example's actions: a log line each. Phone numbers stay out of the logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingActions;

impl Actions for LoggingActions {
    async fn schedule_callback(&self, callback: &CallbackScheduled) -> Result<(), ActionError> {
        tracing::info!(
            id = %callback.id,
            campaign_id = %callback.campaign_id,
            scheduled_time = %callback.scheduled_time,
            "callback scheduled"
        );
        Ok(())
    }

    async fn stop_calling(&self, request: &DncRequested) -> Result<(), ActionError> {
        tracing::info!(
            id = %request.id,
            reason = request.reason.as_str(),
            requested_at = %request.requested_at,
            "number put on the do-not-call list"
        );
        Ok(())
    }
}
