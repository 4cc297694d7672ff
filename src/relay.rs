//! The relay's use case: send what each committed write of the lead table decided, in
//! stream order. A record's new image says what its write decided (see
//! [`crate::store::item::committed`]), so nothing is written back.
//!
//! Order: the stream gives one lead's writes in order, and so do the FIFO queues per phone.
//! At the first record that cannot be sent the relay stops and reports that record: Lambda
//! retries from it, so no later message of the batch overtakes it. A record handed over
//! again is sent again under the same message ids (FIFO deduplication and consumers
//! absorb it). Records that decided nothing (every other change of the table) pass.

use crate::messages::Queue;
use crate::ports::MessagePublisher;
use crate::store::item::Committed;
use crate::telemetry::error_chain;

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
    pub dnc_sent: usize,
    pub quarantine_forwarded: usize,
    pub send_failures: usize,
    pub unreadable: usize,
    /// The sequence number of the first record not fully sent; it and every later record
    /// of the batch come again.
    pub retry_from: Option<String>,
}

pub struct Relay<P> {
    publisher: P,
}

impl<P: MessagePublisher> Relay<P> {
    pub fn new(publisher: P) -> Self {
        Self { publisher }
    }

    pub async fn relay(&self, changes: &[Change]) -> RelayReport {
        let mut report = RelayReport::default();
        for change in changes {
            if let Err(why) = self.send(change, &mut report).await {
                tracing::error!(
                    sequence_number = %change.sequence_number,
                    error = %why,
                    "relay stops here; Lambda retries from this record"
                );
                report.retry_from = Some(change.sequence_number.clone());
                break;
            }
        }
        report
    }

    async fn send(&self, change: &Change, report: &mut RelayReport) -> Result<(), String> {
        let committed = change.committed.as_ref().map_err(|why| {
            report.unreadable += 1;
            format!("unreadable stream record: {why}")
        })?;
        for message in &committed.messages {
            if let Err(e) = self.publisher.send(message).await {
                report.send_failures += 1;
                return Err(error_chain(&e));
            }
            match message.queue {
                Queue::Callback => report.callbacks_sent += 1,
                Queue::Dnc => report.dnc_sent += 1,
            }
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
}
