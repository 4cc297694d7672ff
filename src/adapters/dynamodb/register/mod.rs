//! The DNC register on DynamoDB (docs/contract.md §4a): one item per phone, read and
//! written by the relay and the sweep with optimistic concurrency. A consumer asks "may we
//! call this number?" with one GetItem on `phone`.
//!
//! Contract attributes: `dncAt`, `reason`, `campaignId`, `externalLeadId`, `source`,
//! `evidence`, `signals`, `requestState` (`pending` until SQS took the phone's
//! `dnc.requested`, then `sent`) and `requestSentAt`. The function's own: `firstSignalAt`
//! (lossless, for ordering), `recentSignalIds` (bounded), `version`, and, while the request
//! is pending, `pendingRequest` and `pendingSince`: the keys of the sparse index
//! [`PENDING_INDEX`], which is all the sweep reads. `requestRefused` says why SQS refused
//! the request for good (the entry then leaves the index; see docs/operating.md).
//!
//! Items of the first release (`signalIds`, every id; `requestedBy`; no `requestState`) are
//! read: their request counts as pending, so the next pass that touches the phone sends it
//! again under the same id (consumers drop it as a repeat) and marks it sent. The first
//! release sent that request at a time it did not record: such an entry says so
//! (`earlierRequest`, written by the backfill, read from any first-release item), and its
//! `requestSentAt` is the resend's time, from which no business days are counted.
//!
//! One concern a file: the item codec (`codec.rs`), the port the relay and the sweep use
//! (`store.rs`), the operator's reads (`scan.rs`) and the upgrade's backfill (`backfill.rs`).

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::adapters::dynamodb::item::{VERSION, shard_of, versioned};
use crate::adapters::failure::{classify, condition_held};
use crate::core::domain::{Phone, Timestamp};
use crate::core::register::{
    DncReason, DncSignalRecord, DncSource, EARLIER_RELEASE_REQUEST, RECENT_SIGNAL_IDS,
    RegisterEntry, RequestState, SignalEvidence, StoredSignal,
};
use crate::ports::{BackendError, DncRegisterStore, RegisterSaveError};

pub const REGISTER_KEY: &str = "phone";
/// The sparse index of pending requests: partition key [`PENDING_KEY`] (present only while
/// pending: one of [`PENDING_SHARDS`] values, [`pending_key`]), sort key [`PENDING_SINCE`].
pub const PENDING_INDEX: &str = "byPendingRequest";
pub const PENDING_KEY: &str = "pendingRequest";
pub const PENDING_SINCE: &str = "pendingSince";
/// The request state `pending`; also the index key that entries written before the index
/// was sharded still carry (the sweep queries it too).
pub const PENDING: &str = RequestState::PENDING;
/// How many index key values pending entries spread over: a wave of opt-outs writes to as
/// many index partitions, not one (BENCHMARKS.md prices the sweep's queries).
pub const PENDING_SHARDS: u32 = 8;
pub const REQUEST_STATE: &str = "requestState";
pub const REQUEST_SENT_AT: &str = "requestSentAt";
pub const REQUEST_REFUSED: &str = "requestRefused";
pub const EARLIER_REQUEST: &str = "earlierRequest";
pub const SENT: &str = RequestState::SENT;
/// The request state of an imported entry that owes none.
pub const NOT_OWED: &str = RequestState::NONE;
pub const REFUSED: &str = RequestState::REFUSED;

/// The pending index's key value for a phone: `pending#0` to `pending#7`, fixed per phone.
pub fn pending_key(phone: &str) -> String {
    format!("{PENDING}#{}", shard_of(phone, PENDING_SHARDS))
}

/// The index key value of a request an import owes under this phone: `imported#0` to
/// `imported#7`, read by the sweep after the platform's ([`pending_keys`]).
pub fn imported_key(phone: &str) -> String {
    format!("{IMPORTED}#{}", shard_of(phone, PENDING_SHARDS))
}

/// Every index key value of an import's requests.
pub fn imported_keys() -> impl Iterator<Item = String> {
    (0..PENDING_SHARDS).map(|shard| format!("{IMPORTED}#{shard}"))
}

/// The index key prefix of an import's requests.
pub const IMPORTED: &str = "imported";
pub const REQUEST_DUE: &str = "requestDue";

/// Every key value the sweep queries: each shard's, and the unsharded one of earlier
/// entries.
pub fn pending_keys() -> impl Iterator<Item = String> {
    (0..PENDING_SHARDS)
        .map(|shard| format!("{PENDING}#{shard}"))
        .chain(std::iter::once(PENDING.to_owned()))
}

mod backfill;
mod codec;
mod lookup;
mod scan;
mod store;

pub use backfill::Backfilled;
pub use codec::{known_ids, read_entry, register_entry, register_item, with_request};
pub use lookup::{LISTED_ATTRIBUTES, listed};
pub use scan::ReadItem;
pub use store::oldest_first;

#[derive(Debug, Clone)]
pub struct DynamoDncRegister {
    client: Client,
    table: String,
}

impl DynamoDncRegister {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_spread_over_every_index_key_and_a_phone_keeps_its_key() {
        let mut counts = [0usize; PENDING_SHARDS as usize];
        for i in 0..8000 {
            let key = pending_key(&format!("+1202555{i:04}"));
            assert_eq!(key, pending_key(&format!("+1202555{i:04}")));
            let shard: usize = key.trim_start_matches("pending#").parse().unwrap();
            counts[shard] += 1;
        }
        assert!(
            counts.iter().all(|&n| (700..1300).contains(&n)),
            "{counts:?}"
        );
        let keys: Vec<String> = pending_keys().collect();
        assert_eq!(keys.len(), PENDING_SHARDS as usize + 1);
        assert!(
            keys.contains(&PENDING.to_owned()),
            "the unsharded key of earlier entries"
        );
    }
}
