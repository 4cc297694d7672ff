//! Webhook receiver for an AI calling platform's call events, as two Lambda functions.
//!
//! The functional core decides: [`wire`] parses the sender's JSON into [`domain`] types,
//! [`signature`] authenticates, [`lead`] holds the state rules, [`messages`] the queue
//! messages. The use cases: [`record`] commits one delivery in one conditional write (the
//! webhook), [`relay`] sends what each committed write decided (the stream relay). They
//! reach the world through [`ports`], which [`store`] (the lead table) and [`publisher`]
//! (the queues) implement, each on AWS and in memory. [`entrypoints`] turn Lambda's
//! triggers into use-case calls; [`app`] and [`config`] wire them at cold start;
//! [`telemetry`] writes the log and metrics lines.

pub mod app;
pub mod config;
pub mod domain;
pub mod entrypoints;
pub mod failure;
pub mod lead;
pub mod local;
pub mod messages;
pub mod outbox;
pub mod ports;
pub mod publisher;
pub mod record;
pub mod redrive;
pub mod register;
pub mod relay;
pub mod replay;
pub mod signature;
pub mod store;
pub mod telemetry;
pub mod wire;
