//! Webhook receiver for an AI calling platform's call events.
//!
//! The functional core decides: [`wire`] parses the sender's JSON into [`domain`] types,
//! [`signature`] authenticates, [`lead`] holds the state rules, [`messages`] the queue
//! messages. The shell acts: [`service`] runs one delivery through the [`ports`], which
//! [`dynamo`] and [`sqs`] implement; [`http`] is the API Gateway entrypoint; [`app`] and
//! [`config`] wire it all at cold start; [`telemetry`] writes the log and metrics line.

pub mod app;
pub mod config;
pub mod domain;
pub mod dynamo;
pub mod http;
pub mod lead;
pub mod local;
pub mod messages;
pub mod ports;
pub mod service;
pub mod signature;
pub mod sqs;
pub mod telemetry;
pub mod wire;
