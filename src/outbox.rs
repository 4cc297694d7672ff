//! What one committed write decided, for the relay to act on: queue messages (callbacks),
//! and DNC signals with their evidence (for the register, which decides DNC requests).

use crate::messages::QueueMessage;
use crate::register::DncSignalRecord;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    pub messages: Vec<QueueMessage>,
    pub dnc_signals: Vec<DncSignalRecord>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.dnc_signals.is_empty()
    }
}
