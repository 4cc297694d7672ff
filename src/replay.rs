//! The operator's replay of the quarantine queue: each record's body is parsed again with
//! the current code. What now parses is recorded through the same use case as a delivery
//! (it was authenticated when it arrived) and leaves the queue; what is now ignored by design
//! leaves it too; what still breaks a rule stays, with its reason. `--dry-run` only says what
//! would happen.

use std::collections::HashSet;
use std::future::Future;

use crate::messages::QuarantineRecord;
use crate::ports::{BackendError, Inbox, LeadStore};
use crate::record::{CallEventRecorder, Recorded};
use crate::register::Evidence;
use crate::telemetry::error_chain;
use crate::wire::{Inbound, parse_body};

/// The reason prefix of what the relay parked (see [`crate::relay`]).
const RELAY_PARKED: &str = "relay: ";

/// One message of the quarantine queue.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub message_id: String,
    /// What removes or releases the message.
    pub receipt: String,
    /// The record, or why the message is not one.
    pub record: Result<QuarantineRecord, String>,
}

/// The quarantine queue, as the replay reads it.
pub trait QuarantineQueue: Send + Sync {
    /// Up to a batch of messages, hidden from other readers for a while.
    fn receive(&self) -> impl Future<Output = Result<Vec<Quarantined>, BackendError>> + Send;
    /// Deletes a handled message.
    fn remove(&self, receipt: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// Makes a message left in place visible again at once.
    fn release(&self, receipt: &str) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// What happened (or, in a dry run, would happen) to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded now (`processed`), or it had been already (`duplicate`); removed.
    Recorded(&'static str),
    /// An event type this function does not handle; removed.
    Ignored,
    /// Still breaks a rule, or is not a webhook body; left with its reason.
    Left(String),
    /// Recording failed for a reason that may pass; left, to try again later.
    Failed(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub seen: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub ignored: usize,
    pub left: usize,
    pub failed: usize,
}

impl Summary {
    fn count(&mut self, verdict: &Verdict) {
        self.seen += 1;
        match verdict {
            Verdict::Recorded("duplicate") => self.duplicates += 1,
            Verdict::Recorded(_) => self.recorded += 1,
            Verdict::Ignored => self.ignored += 1,
            Verdict::Left(_) => self.left += 1,
            Verdict::Failed(_) => self.failed += 1,
        }
    }
}

pub struct Replay<Q, S> {
    queue: Q,
    recorder: CallEventRecorder<S>,
}

impl<Q: QuarantineQueue, S: LeadStore + Inbox> Replay<Q, S> {
    pub fn new(queue: Q, recorder: CallEventRecorder<S>) -> Self {
        Self { queue, recorder }
    }

    /// Goes through the queue once (each message at most once), at most `max` messages;
    /// `progress` hears each verdict as it is reached.
    pub async fn run(
        &self,
        dry_run: bool,
        max: usize,
        mut progress: impl FnMut(&Quarantined, &Verdict),
    ) -> Result<Summary, BackendError> {
        let mut summary = Summary::default();
        let mut seen = HashSet::new();
        let mut left = Vec::new();
        while summary.seen < max {
            let batch = self.queue.receive().await?;
            let fresh: Vec<Quarantined> = batch
                .into_iter()
                .filter(|m| seen.insert(m.message_id.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for message in fresh.into_iter().take(max - summary.seen) {
                let verdict = match &message.record {
                    Err(why) => Verdict::Left(format!("not a quarantine record: {why}")),
                    // Its body is a message or a record, not a webhook request.
                    Ok(record) if record.reason.starts_with(RELAY_PARKED) => Verdict::Left(
                        format!("parked by the relay, for a person: {}", record.reason),
                    ),
                    Ok(record) if dry_run => would(record),
                    Ok(record) => self.replay(record).await,
                };
                summary.count(&verdict);
                progress(&message, &verdict);
                match (&verdict, dry_run) {
                    (Verdict::Recorded(_) | Verdict::Ignored, false) => {
                        self.queue.remove(&message.receipt).await?
                    }
                    _ => left.push(message.receipt),
                }
            }
        }
        for receipt in left {
            self.queue.release(&receipt).await?;
        }
        Ok(summary)
    }

    async fn replay(&self, record: &QuarantineRecord) -> Verdict {
        let evidence = Evidence {
            received_at: record.received_at.clone(),
            signature_header: record.signature_header.clone().unwrap_or_default(),
            body: record.body.clone(),
        };
        let result = match parse_body(record.body.as_bytes()) {
            Err(rejection) => return Verdict::Left(rejection.to_string()),
            Ok(Inbound::NotHandled { .. }) => return Verdict::Ignored,
            Ok(Inbound::Call(event)) => self.recorder.record(&event, &evidence).await,
            Ok(Inbound::LegacyDnc(event)) => {
                self.recorder.record_legacy_dnc(&event, &evidence).await
            }
        };
        match result {
            Ok(Recorded::Processed { .. }) => Verdict::Recorded("processed"),
            Ok(Recorded::Duplicate { .. }) => Verdict::Recorded("duplicate"),
            Err(e) => match e.permanent() {
                Some(why) => Verdict::Left(format!("cannot be stored: {why}")),
                None => Verdict::Failed(error_chain(&e)),
            },
        }
    }
}

/// What a replay would do with the record, without doing it.
fn would(record: &QuarantineRecord) -> Verdict {
    match parse_body(record.body.as_bytes()) {
        Err(rejection) => Verdict::Left(rejection.to_string()),
        Ok(Inbound::NotHandled { .. }) => Verdict::Ignored,
        Ok(_) => Verdict::Recorded("processed"),
    }
}
