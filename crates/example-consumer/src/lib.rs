//! An example consumer of the call-events queues: a Lambda function on the callback and DNC
//! queues, written the way a team should copy it.
//!
//! - Each body is read as a typed message of `call-events-messages` ([`Message`]), one
//!   message at a time: a body this reader cannot read fails that message only.
//! - Partial batch failures ([`SqsBatchResponse`]), with FIFO order: after a message of a
//!   group fails, the rest of that group in the batch is failed too, unprocessed, so a
//!   phone's messages are never acted on out of order ([`Consumer::handle`]).
//! - Idempotent by the message `id`, the way Powertools' idempotency does it: a conditional
//!   put claims the id before acting ([`IdempotencyStore`]), a record with a TTL marks it
//!   done, and a failed action releases the claim so the retry acts.
//! - A callback asks the DNC register first (one GetItem): a DNC may arrive after the
//!   callback left the receiver ([`DncRegister`]).
//! - What it acts on is a port ([`Actions`]); the example's adapter only logs
//!   ([`LoggingActions`]).
//!
//! [`Message`]: call_events_messages::Message
//! [`SqsBatchResponse`]: aws_lambda_events::event::sqs::SqsBatchResponse

pub mod config;
mod consumer;
pub mod dynamodb;
pub mod memory;
mod ports;

pub use consumer::{Consumer, Outcome};
pub use ports::{
    ActionError, Actions, Claim, DncRegister, IdempotencyStore, LoggingActions, StoreError,
};
