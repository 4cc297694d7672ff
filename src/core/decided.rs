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
    pub decided: Result<Decided, String>,
}
