//! Webhook receiver for an AI calling platform's call events.
//!
//! The functional core ([`domain`], [`wire`], [`signature`], [`lead`], [`messages`])
//! decides; the shell ([`dynamo`], [`sqs`], [`service`], [`http`]) reads, writes and sends.

pub mod domain;
pub mod lead;
pub mod messages;
pub mod signature;
pub mod wire;
