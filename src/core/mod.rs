//! The functional core: pure rules, no I/O, no AWS. It imports nothing of the rest of the
//! crate (`tests/architecture.rs` holds that).
//!
//! - [`domain`]: the domain types, each checked by its constructor (`Phone`, `Timestamp`,
//!   `CallEvent`, ...), and the event id recipes;
//! - [`wire`]: the sender's JSON into domain types, and the lenient reading of opt-outs;
//! - [`signature`]: `aktify-signature` verification;
//! - [`lead`]: the lead state rules, `decide(old state, event)`;
//! - [`register`]: the DNC register's rules and the phone's one request;
//! - [`messages`]: the queue messages a write decides;
//! - [`decided`]: what one committed write decided, the relay's input;
//! - [`proof`]: an opt-out proven from what the register kept;
//! - [`spreadsheet`]: CSV cells a spreadsheet opens as text, never as a formula;
//! - [`sms_reply`]: what a text reply says about consent (an opt-out, a re-subscribe);
//! - [`twilio`]: Twilio's request signature (`X-Twilio-Signature`);
//! - [`api_request`]: the register API's request bodies, read and checked.

pub mod api_request;
pub mod decided;
pub mod dial_list;
pub mod domain;
pub mod import;
pub mod lead;
pub mod messages;
pub mod proof;
pub mod proof_page;
pub mod register;
pub mod signature;
pub mod sms_reply;
pub mod spreadsheet;
pub mod twilio;
pub mod wire;

/// An error and its sources, one line, for logs (never for a response).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
