//! The use cases: each decides with the core and reaches the world only through
//! [`crate::ports`], so each runs on the AWS adapters and on the in-memory ones alike. They
//! import the core and the ports, nothing else (`tests/architecture.rs`).
//!
//! - [`deadlines`]: how the relay function spends its time, in one place;
//! - [`keyring`]: the webhook's secrets, read again when a signature matches none held;
//! - [`record`]: the webhook's: one delivery, one conditional write (or the quarantine);
//! - [`relay`]: the relay's: send what each committed write decided; the sweep of pending
//!   DNC requests;
//! - [`reports`]: what the relay did, by trigger;
//! - [`redrive`]: batches Lambda gave up on, relayed again from the bucket or the stream;
//! - [`replay`]: the operator's replay of the quarantine queue;
//! - [`scrub`] and [`import`]: the operator's dial-list scrub and the import of a DNC list
//!   the company already keeps.

pub mod ask;
pub mod deadlines;
pub mod import;
pub mod keyring;
pub mod opt_out;
pub mod record;
pub mod redrive;
pub mod relay;
pub mod replay;
pub mod reports;
pub mod scrub;
