//! What one write of the lead table decided: the webhook writes it with the lead's state in
//! one conditional write, and the relay reads it back from the stream's new image. The
//! relay's input is a [`Change`] per stream record.

use crate::core::messages::{QuarantineRecord, QueueMessage};
use crate::core::register::DncSignalRecord;

/// Queue messages (callbacks), DNC signals with their evidence (for the register, which
/// decides DNC requests), and a quarantined body to forward.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// Messages the write decided, in id order.
    pub messages: Vec<QueueMessage>,
    /// DNC signals the write decided, in event id order.
    pub dnc_signals: Vec<DncSignalRecord>,
    /// A body kept for replay (never decided by a lead's write).
    pub quarantine: Option<QuarantineRecord>,
    /// The write, if it waits for the relay to confirm that it relayed the above (read from
    /// the item; never part of what is decided).
    pub relay_mark: Option<RelayMark>,
}

/// A write whose messages and signals wait for the relay: the item is in the lead table's
/// index of unconfirmed writes until the relay confirms this version. Until then the
/// webhook's next write of the lead carries them, and the relay's sweep finds them if
/// their stream record never comes (docs/architecture.md, "No signal waits on the stream
/// alone").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayMark {
    /// The item's key.
    pub phone: String,
    pub sort_key: String,
    /// The version that decided (or carried) them.
    pub version: u64,
}

/// An item found in the index of unconfirmed writes: its key, and since when its oldest
/// message waits (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub phone: String,
    pub sort_key: String,
    pub since: String,
}

impl Decided {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.dnc_signals.is_empty() && self.quarantine.is_none()
    }
}

/// One stream record, as the relay needs it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The record's sequence number: what a partial batch failure names.
    pub sequence_number: String,
    /// What the write decided, or why the record's new image could not be read.
    pub decided: Result<Decided, Unreadable>,
}

/// A record's new image this code cannot read: why, and the image itself (DynamoDB JSON),
/// so that what it held can be put right by hand once it is parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub why: String,
    pub image: String,
}

/// Stream sequence numbers are decimal strings of any length: `a` comes after `b`.
pub fn sequence_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers_not_as_text() {
        assert!(sequence_after("1000", "999"));
        assert!(!sequence_after("999", "1000"));
        assert!(!sequence_after("000123", "123"));
        assert!(sequence_after(
            "800000000003126276363",
            "800000000003126276362"
        ));
    }
}
