//! Webhook receiver for an AI calling platform's call events, as two Lambda functions.
//!
//! The layers, each importing only the ones above it (`tests/architecture.rs` holds it):
//! - [`core`]: the functional core, pure: the wire format, the domain, the lead and
//!   register rules, what a write decided;
//! - [`ports`]: what the use cases need from the world, one small trait per need;
//! - [`usecases`]: record (the webhook), relay and sweep, redrive, replay: generic over the
//!   ports, so they run on AWS and in memory alike;
//! - [`adapters`]: the ports on DynamoDB and SQS, and in memory;
//! - [`entrypoints`]: Lambda's triggers into use-case calls, and back into Lambda's
//!   answers;
//! - [`app`] and [`config`]: the wiring at cold start; [`telemetry`]: the log and metric
//!   lines.

pub mod adapters;
pub mod app;
pub mod config;
pub mod core;
#[cfg(feature = "functions")]
pub mod entrypoints;
pub mod ports;
pub mod telemetry;
pub mod usecases;
