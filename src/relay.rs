//! The relay's use case: act on what each committed write of the lead table decided, in
//! stream order. A record's new image says what its write decided (see
//! [`crate::store::item::committed`]), so nothing is written back to the lead table.
//!
//! A batch goes in two passes:
//! 1. every DNC signal of the batch goes into the company-wide register
//!    ([`crate::register`]), which keeps the earliest signal per phone; this is idempotent,
//!    so a batch handed over again changes nothing;
//! 2. the records' sends, in stream order: the phone's one `dnc.requested` (by the record
//!    whose signal decided it, from the register's earliest signal), each callback unless
//!    its phone is on the register by now (DNC is company-wide), each quarantined body.
//!
//! Failures: a transient one (SQS or DynamoDB unavailable, throttled) stops the batch at
//! that record, for Lambda to retry. A permanent one (SQS will never take the message, a
//! register item or a stream record this code cannot read) parks what could not be handled
//! on the quarantine queue with its reason, counted (`Parked`) and alarmed, and the relay
//! goes on: one bad record must not hold back every later message of its shard. A callback
//! whose phone's register entry cannot be read is parked, not sent.
//!
//! Order: the stream gives one lead's writes in order, and so do the FIFO queues per phone.
//! At the first record that cannot be handled the relay stops and reports that record:
//! Lambda retries from it, so no later message of the batch overtakes it. A record handed
//! over again is sent again under the same message ids (FIFO deduplication and consumers
//! absorb it). Records that decided nothing (every other change of the table) pass.

use std::collections::HashMap;

use crate::domain::{Phone, Timestamp};
use crate::messages::{QuarantineRecord, Queue, QueueMessage};
use crate::ports::{BackendError, DncRegisterStore, MessagePublisher, RegisterSaveError};
use crate::register::{DncSignalRecord, RegisterEntry, Registered, dnc_request, register};
use crate::store::item::Committed;
use crate::telemetry::error_chain;

/// Attempts at a register write that keeps losing a race with another relay batch.
const REGISTER_ATTEMPTS: usize = 16;

/// One stream record, as the relay needs it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The record's sequence number: what a partial batch failure names.
    pub sequence_number: String,
    /// What the write decided, or why the record's new image could not be read.
    pub committed: Result<Committed, String>,
}

/// What a batch did: counts of what SQS took, and the record to retry from, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayReport {
    pub callbacks_sent: usize,
    pub callbacks_suppressed: usize,
    pub dnc_sent: usize,
    pub dnc_signals_registered: usize,
    pub quarantine_forwarded: usize,
    pub send_failures: usize,
    pub unreadable: usize,
    /// Records or messages parked on the quarantine queue after a permanent failure.
    pub parked: usize,
    /// The sequence number of the first record not fully handled; it and every later
    /// record of the batch come again.
    pub retry_from: Option<String>,
}

pub struct Relay<P, R> {
    publisher: P,
    register: R,
}

/// Register entries of the batch's phones, as pass 1 left them (`None`: not on it).
type Entries = HashMap<String, Option<RegisterEntry>>;

impl<P: MessagePublisher, R: DncRegisterStore> Relay<P, R> {
    pub fn new(publisher: P, register: R) -> Self {
        Self {
            publisher,
            register,
        }
    }

    pub async fn relay(&self, changes: &[Change]) -> RelayReport {
        let mut report = RelayReport::default();
        let mut entries = Entries::new();
        // Pass 1, up to the first record that cannot be registered.
        let mut registered = changes.len();
        for (i, change) in changes.iter().enumerate() {
            if let Err(why) = self
                .register_signals(change, &mut entries, &mut report)
                .await
            {
                stopped(change, &why);
                registered = i;
                break;
            }
        }
        // Pass 2, over the records registered, in order.
        for change in &changes[..registered] {
            if let Err(why) = self.send(change, &mut entries, &mut report).await {
                stopped(change, &why);
                report.retry_from = Some(change.sequence_number.clone());
                return report;
            }
        }
        report.retry_from = changes.get(registered).map(|c| c.sequence_number.clone());
        report
    }

    async fn register_signals(
        &self,
        change: &Change,
        entries: &mut Entries,
        report: &mut RelayReport,
    ) -> Result<(), String> {
        let committed = match &change.committed {
            Ok(committed) => committed,
            Err(why) => {
                report.unreadable += 1;
                let reason = format!("unreadable stream record {}", change.sequence_number);
                return self.park(&reason, why, report).await;
            }
        };
        for signal in &committed.dnc_signals {
            let Ok(phone) = Phone::parse(&signal.phone) else {
                let body = serde_json::to_string(signal).unwrap_or_default();
                self.park("a DNC signal with an invalid phone", &body, report)
                    .await?;
                continue;
            };
            match self.register_signal(&phone, signal).await {
                Ok(entry) => {
                    report.dnc_signals_registered += 1;
                    entries.insert(phone.as_str().to_owned(), Some(entry));
                }
                Err(BackendError {
                    permanent: Some(why),
                    ..
                }) => {
                    let reason = format!("DNC signal not registered: {why}");
                    let body = serde_json::to_string(signal).unwrap_or_default();
                    self.park(&reason, &body, report).await?;
                }
                Err(e) => return Err(error_chain(&e)),
            }
        }
        Ok(())
    }

    /// Adds the signal to the phone's register entry; returns the entry as it now is.
    async fn register_signal(
        &self,
        phone: &Phone,
        signal: &DncSignalRecord,
    ) -> Result<RegisterEntry, BackendError> {
        for _ in 0..REGISTER_ATTEMPTS {
            let current = self.register.load(phone).await?;
            let (entry, version) = match &current {
                Some((entry, version)) => (Some(entry), Some(*version)),
                None => (None, None),
            };
            match register(entry, signal) {
                Registered::Known(entry) => return Ok(entry),
                Registered::Changed(entry) => {
                    match self.register.save(phone, &entry, version).await {
                        Ok(()) => return Ok(entry),
                        Err(RegisterSaveError::Conflict) => continue,
                        Err(RegisterSaveError::Backend(e)) => return Err(e),
                    }
                }
            }
        }
        Err(BackendError::new(
            "DNC register",
            "the register entry kept changing",
        ))
    }

    /// Puts what could not be handled, and why, on the quarantine queue.
    async fn park(&self, reason: &str, body: &str, report: &mut RelayReport) -> Result<(), String> {
        tracing::error!(
            reason,
            "parking on the quarantine queue after a permanent failure"
        );
        let record = QuarantineRecord::new(
            Timestamp::now().to_rfc3339(),
            format!("relay: {reason}"),
            body.as_bytes(),
        );
        match self.publisher.quarantine(&record).await {
            Ok(()) => {
                report.parked += 1;
                Ok(())
            }
            Err(e) => {
                report.send_failures += 1;
                Err(error_chain(&e))
            }
        }
    }

    async fn send(
        &self,
        change: &Change,
        entries: &mut Entries,
        report: &mut RelayReport,
    ) -> Result<(), String> {
        // An unreadable record was parked in pass 1.
        let Ok(committed) = &change.committed else {
            return Ok(());
        };
        for signal in &committed.dnc_signals {
            let Ok(phone) = Phone::parse(&signal.phone) else {
                continue; // parked in pass 1
            };
            let entry = entries.get(phone.as_str()).cloned().flatten();
            if let Some(entry) = entry.filter(|e| e.requested_by == signal.id()) {
                self.publish(&dnc_request(&phone, &entry), report).await?;
            }
        }
        for message in &committed.messages {
            if message.queue == Queue::Callback {
                match self.on_register(&message.group, entries).await {
                    Ok(false) => {}
                    Ok(true) => {
                        report.callbacks_suppressed += 1;
                        continue;
                    }
                    Err(e) if e.is_permanent() => {
                        let reason =
                            "callback not sent: the phone's DNC register item is unreadable";
                        self.park(reason, &message.body, report).await?;
                        continue;
                    }
                    Err(e) => return Err(error_chain(&e)),
                }
            }
            self.publish(message, report).await?;
        }
        if let Some(record) = &committed.quarantine {
            if let Err(e) = self.publisher.quarantine(record).await {
                report.send_failures += 1;
                return Err(error_chain(&e));
            }
            report.quarantine_forwarded += 1;
        }
        Ok(())
    }

    async fn publish(
        &self,
        message: &QueueMessage,
        report: &mut RelayReport,
    ) -> Result<(), String> {
        if let Err(e) = self.publisher.send(message).await {
            if let Some(why) = e.permanent {
                let reason = format!("{} {} not sent: {why}", message.message_type, message.id);
                return self.park(&reason, &message.body, report).await;
            }
            report.send_failures += 1;
            return Err(error_chain(&e));
        }
        match message.queue {
            Queue::Callback => report.callbacks_sent += 1,
            Queue::Dnc => report.dnc_sent += 1,
        }
        Ok(())
    }

    /// Is the phone on the DNC register? Asked once per phone and batch.
    async fn on_register(&self, phone: &str, entries: &mut Entries) -> Result<bool, BackendError> {
        if let Some(entry) = entries.get(phone) {
            return Ok(entry.is_some());
        }
        let parsed = Phone::parse(phone).map_err(|e| {
            BackendError::permanent("DNC register", "the message's phone is invalid", e)
        })?;
        let entry = self.register.load(&parsed).await?.map(|(entry, _)| entry);
        let listed = entry.is_some();
        entries.insert(phone.to_owned(), entry);
        Ok(listed)
    }
}

fn stopped(change: &Change, why: &str) {
    tracing::error!(
        sequence_number = %change.sequence_number,
        error = %why,
        "relay stops here; Lambda retries from this record"
    );
}
