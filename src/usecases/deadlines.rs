//! How the relay function spends its time (template.yaml: 30 s an invocation), in one
//! place: what each trigger keeps back from Lambda's deadline so that it answers before it
//! (Lambda would kill the invocation and retry all of it), and how long a redrive may relay
//! once its batch is read. The webhook's own budget is [`crate::usecases::record::DEADLINE`].

use std::time::Duration;

/// What a stream batch keeps of the invocation's time to answer (the records not relayed
/// by then come again), so that Lambda never kills it and retries the whole batch.
pub const BATCH_RESERVE: Duration = Duration::from_secs(2);
/// What a sweep keeps of the invocation's time to write its line.
pub const SWEEP_RESERVE: Duration = Duration::from_secs(3);
/// How long the relay of a redriven batch, once read, may take past the read's `read_by`.
pub const RELAY_AFTER_READ: Duration = Duration::from_secs(8);
/// What a redrive keeps of the invocation's time to relay the batch once it is read
/// ([`RELAY_AFTER_READ`]) and to answer.
pub const REDRIVE_RELAY_RESERVE: Duration = Duration::from_secs(10);

const _: () = assert!(REDRIVE_RELAY_RESERVE.as_secs() > RELAY_AFTER_READ.as_secs());
