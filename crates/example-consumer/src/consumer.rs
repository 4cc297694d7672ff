//! One batch of SQS messages: each read, claimed by id, checked and acted on, in order.

use std::collections::HashSet;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use call_events_messages::{Message, ParseError};

use crate::ports::{ActionError, Actions, Claim, DncRegister, IdempotencyStore, StoreError};

/// What became of a message that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action ran.
    Acted,
    /// A callback for a number on the DNC register: not acted on, and done.
    DroppedDnc,
    /// Handled before (a redelivery): skipped.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acted => "acted",
            Self::DroppedDnc => "dropped_dnc",
            Self::Duplicate => "duplicate",
        }
    }
}

/// Why a message failed: it stays on the queue (and reaches its DLQ after the queue's
/// `maxReceiveCount` receives).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("no body")]
    NoBody,
    #[error(transparent)]
    Unreadable(#[from] ParseError),
    #[error("another invocation is handling this message")]
    InProgress,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("action failed: {0}")]
    Action(#[from] ActionError),
}

pub struct Consumer<A, I, R> {
    actions: A,
    idempotency: I,
    register: R,
}

impl<A: Actions, I: IdempotencyStore, R: DncRegister> Consumer<A, I, R> {
    pub fn new(actions: A, idempotency: I, register: R) -> Self {
        Self {
            actions,
            idempotency,
            register,
        }
    }

    pub fn actions(&self) -> &A {
        &self.actions
    }

    /// Handles a batch in order and answers which messages failed. On a FIFO queue
    /// (messages carry a `MessageGroupId`), once a message fails, every later message of its
    /// group in this batch is failed without being looked at: SQS hands the group back
    /// from the failed one, in order. Other groups go on.
    ///
    /// `now_ms` and `deadline_ms` are Unix epoch milliseconds; the deadline is the
    /// invocation's, and bounds how long a claim on a message id holds.
    pub async fn handle(
        &self,
        event: &SqsEvent,
        now_ms: u64,
        deadline_ms: u64,
    ) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut failed_groups: HashSet<&str> = HashSet::new();
        for record in &event.records {
            let message_id = record.message_id.as_deref().unwrap_or_default();
            let group = record.attributes.get("MessageGroupId").map(String::as_str);
            if group.is_some_and(|g| failed_groups.contains(g)) {
                tracing::info!(
                    message_id,
                    "not processed: an earlier message of its group failed"
                );
                response.add_failure(message_id);
                continue;
            }
            match self.consume(record, now_ms, deadline_ms).await {
                Ok((message_type, id, outcome)) => {
                    tracing::info!(
                        message_id,
                        message_type,
                        id,
                        outcome = outcome.as_str(),
                        "message handled"
                    );
                }
                Err(failure) => {
                    tracing::warn!(message_id, error = %error_chain(&failure), "message failed");
                    response.add_failure(message_id);
                    if let Some(group) = group {
                        failed_groups.insert(group);
                    }
                }
            }
        }
        response
    }

    async fn consume(
        &self,
        record: &SqsMessage,
        now_ms: u64,
        deadline_ms: u64,
    ) -> Result<(&'static str, String, Outcome), Failure> {
        let body = record.body.as_deref().ok_or(Failure::NoBody)?;
        let message = Message::from_json(body)?;
        let id = message.id().to_owned();
        match self.idempotency.claim(&id, now_ms, deadline_ms).await? {
            Claim::Completed => return Ok((message.type_name(), id, Outcome::Duplicate)),
            Claim::InProgress => return Err(Failure::InProgress),
            Claim::Acquired => {}
        }
        match self.act(&message).await {
            Ok(outcome) => {
                // The action ran: failing the message now would run it again. A record
                // left claimed is re-claimable once the deadline passes.
                if let Err(e) = self
                    .idempotency
                    .complete(&id, outcome.as_str(), now_ms)
                    .await
                {
                    tracing::error!(id, error = %error_chain(&e), "acted, but not recorded as done");
                }
                Ok((message.type_name(), id, outcome))
            }
            Err(failure) => {
                if let Err(e) = self.idempotency.release(&id).await {
                    tracing::warn!(id, error = %error_chain(&e), "claim not released; it lapses at the deadline");
                }
                Err(failure)
            }
        }
    }

    async fn act(&self, message: &Message) -> Result<Outcome, Failure> {
        match message {
            Message::Callback(callback) => {
                if self.register.is_dnc(&callback.phone).await? {
                    return Ok(Outcome::DroppedDnc);
                }
                self.actions.schedule_callback(callback).await?;
            }
            Message::Dnc(request) => self.actions.stop_calling(request).await?,
        }
        Ok(Outcome::Acted)
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
