//! Lambda's triggers into use-case calls, and back into the answers Lambda expects: API
//! Gateway for the webhook ([`http`]); the lead table's stream, the relay's on-failure queue
//! and the sweep's schedule for the relay function ([`stream`]). They get their adapters from
//! the wiring ([`crate::app`]), never by import.

pub mod api;
pub mod http;
pub mod stream;
