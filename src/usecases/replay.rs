//! The operator's replay of the quarantine queue (docs/contract.md §8): each record's body is
//! parsed again with the current code. What now parses is recorded through the same use
//! case as a delivery and leaves the queue; what is now ignored by design leaves it too;
//! what still breaks a rule stays, with its reason. `--dry-run` only says what would happen.
//!
//! The queue is not trusted: anyone allowed to send to it could write a record. So a
//! record is recorded only when its kept `signatureHeader` verifies its body with a
//! configured secret (the signature's age is not held against it: it was checked when the
//! body arrived; a secret rotated out since is). A record with no header (the first
//! release kept none) is recorded only when the operator says so ([`Trust`]); one that no
//! configured secret signed is never recorded. Both stay on the queue with their reason.

use std::collections::HashSet;

use crate::core::error_chain;
use crate::core::messages::QuarantineRecord;
use crate::core::register::Evidence;
use crate::core::signature::{DEFAULT_TOLERANCE_SECONDS, Secret, Verifier};
use crate::core::wire::{Inbound, parse_body};
use crate::ports::{BackendError, Inbox, LeadStore, QuarantineQueue, Quarantined};
use crate::usecases::record::{CallEventRecorder, Recorded};

/// The reason prefix of what the relay parked (see [`crate::usecases::relay`]).
const RELAY_PARKED: &str = "relay: ";

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

/// Which records the replay may record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Only records whose kept signature verifies (the default).
    SignedOnly,
    /// Also records with no signature header at all, as the first release kept them: the
    /// operator vouches that nobody else could send to the queue
    /// (`--trust-unsigned-first-release`). A header that does not verify is never trusted.
    UnsignedFirstRelease,
}

pub struct Replay<Q, S> {
    queue: Q,
    recorder: CallEventRecorder<S>,
    verifier: Verifier,
    trust: Trust,
}

impl<Q: QuarantineQueue, S: LeadStore + Inbox> Replay<Q, S> {
    /// `secrets` and `accept_v1` as the webhook is configured.
    pub fn new(
        queue: Q,
        recorder: CallEventRecorder<S>,
        secrets: Vec<Secret>,
        accept_v1: bool,
        trust: Trust,
    ) -> Self {
        // The age of a kept signature is not held against it (`verify_kept`).
        let verifier = Verifier::new(secrets, DEFAULT_TOLERANCE_SECONDS).accepting_v1(accept_v1);
        Self {
            queue,
            recorder,
            verifier,
            trust,
        }
    }

    /// Why the record may not be recorded, if that is so.
    fn distrust(&self, record: &QuarantineRecord, body: &[u8]) -> Option<String> {
        match record.signature_header.as_deref().filter(|h| !h.is_empty()) {
            None if self.trust == Trust::UnsignedFirstRelease => None,
            None => Some(
                "no signature header (kept before signatures were kept): recorded only with \
                 --trust-unsigned-first-release"
                    .to_owned(),
            ),
            Some(header) => match self.verifier.verify_kept(header, body) {
                Ok(_) => None,
                Err(_) => Some(
                    "its signature does not verify with any configured secret: never recorded"
                        .to_owned(),
                ),
            },
        }
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
                    // The exact bytes received, whatever they are: what was signed.
                    Ok(record) => match record.bytes() {
                        Err(e) => Verdict::Left(format!("its body cannot be read: {e}")),
                        Ok(body) => match self.distrust(record, &body) {
                            Some(why) => Verdict::Left(why),
                            None if dry_run => would(&body),
                            None => self.replay(record, &body).await,
                        },
                    },
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

    async fn replay(&self, record: &QuarantineRecord, body: &[u8]) -> Verdict {
        let evidence = Evidence {
            received_at: record.received_at.clone(),
            signature_header: record.signature_header.clone().unwrap_or_default(),
            body: record.body.clone(),
            body_base64: record.body_base64.clone(),
        };
        let result = match parse_body(body) {
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
fn would(body: &[u8]) -> Verdict {
    match parse_body(body) {
        Err(rejection) => Verdict::Left(rejection.to_string()),
        Ok(Inbound::NotHandled { .. }) => Verdict::Ignored,
        Ok(_) => Verdict::Recorded("processed"),
    }
}
