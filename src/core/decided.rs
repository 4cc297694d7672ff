//! What one write of the lead table decided: the webhook writes it with the lead's state in
//! one conditional write, and the relay reads it back from the stream's new image. The
//! relay's input is a [`Change`] per stream record.

use call_events_messages::{Evidence, SignalEvidence};

use crate::core::domain::Timestamp;
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

/// What the relay confirms once it relayed a write's messages and signals (or a sweep
/// relayed those of several writes of one item): which entries of the item's outbox to
/// take out, and the evidence bodies they held. Until then the item is in the lead
/// table's index of unconfirmed writes, and the sweep finds it there if the stream record
/// never comes (docs/architecture.md, "No signal waits on the stream alone").
///
/// A confirmation never moves the item's `version`: a webhook instance that cached the
/// lead writes its next version in one call (docs/contract.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayMark {
    /// The item's key.
    pub phone: String,
    pub sort_key: String,
    /// What to confirm.
    pub confirms: Confirms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirms {
    /// Entries of the item's outbox, by the version of the write that added each, and the
    /// evidence bodies (by signal id) they kept; `others_since`: when the oldest entry
    /// left in the item (as the relay saw it) was decided, for the index's sort key.
    Entries {
        versions: Vec<u64>,
        bodies: Vec<String>,
        others_since: Option<String>,
    },
    /// The outbox of an earlier release's write (`outbox`, `dncSignals`,
    /// `outboxVersion`), as long as it is still the one of that version.
    Legacy { outbox_version: u64 },
    /// Nothing: an item left in the index with no outbox (taken out of it).
    Mark,
    /// A quarantined body forwarded to the quarantine queue: the item says so
    /// (`quarantineForwarded`), so its own stream record forwards nothing again.
    Quarantine,
}

/// An item found in the index of unconfirmed writes: its key, and since when its oldest
/// message waits (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub phone: String,
    pub sort_key: String,
    pub since: String,
}

/// The one DNC signal of a lead item whose evidence body the item holds for the relay: a
/// body is up to 256 KiB and an item 400 KB, so an item holds at most one, the earliest
/// signal's (the only one the register can need: it keeps the earliest signal's evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBody {
    pub at: Timestamp,
    pub id: String,
}

impl HeldBody {
    fn of(signal: &DncSignalRecord) -> Self {
        let (at, id) = signal.order();
        Self {
            at,
            id: id.to_owned(),
        }
    }
}

/// Which evidence body the item keeps once a write adds `signals` to what it holds
/// (`held`): the earliest signal's. Every other signal of `signals` loses its body (its
/// evidence keeps the request's time and signature header); returns the body the item now
/// holds and the id of the one it drops, if a new signal came first.
pub fn hold_one_body(
    held: Option<&HeldBody>,
    signals: &mut [DncSignalRecord],
) -> (Option<HeldBody>, Option<String>) {
    let earliest = signals
        .iter()
        .filter(|s| s.evidence.signed().is_some_and(|e| !is_bodiless(e)))
        .min_by(|a, b| a.order().cmp(&b.order()))
        .map(HeldBody::of);
    let keep = match (held, earliest) {
        (Some(held), Some(new)) if (new.at, new.id.as_str()) < (held.at, held.id.as_str()) => {
            Some(new)
        }
        (None, new) => new,
        _ => None,
    };
    for signal in signals.iter_mut() {
        if keep.as_ref().is_none_or(|k| k.id != signal.id()) {
            signal.evidence = without_body(&signal.evidence);
        }
    }
    match keep {
        Some(new) => (Some(new), held.map(|h| h.id.clone())),
        None => (held.cloned(), None),
    }
}

/// A signed evidence whose body the item does not keep: empty, with no exact bytes.
pub fn is_bodiless(evidence: &Evidence) -> bool {
    evidence.body.is_empty() && evidence.body_base64.is_none()
}

fn without_body(evidence: &SignalEvidence) -> SignalEvidence {
    match evidence {
        SignalEvidence::Signed(signed) => SignalEvidence::Signed(Evidence {
            body: String::new(),
            body_base64: None,
            ..signed.clone()
        }),
        imported => imported.clone(),
    }
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
