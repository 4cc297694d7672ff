//! The webhook's use case: record one call event for its lead, in one conditional write
//! that holds the new state and adds what it decided (callbacks, DNC signals) to the
//! item's outbox. Nothing is sent from here: the relay sends what the write decided, from
//! the table's stream, and confirms it by taking its entry out of the outbox; the sweep
//! relays an entry whose stream record never came. Nothing is carried from one write to
//! the next, so the relay's confirmations never make a write fail its condition, and the
//! item holds one evidence body at most ([`hold_one_body`]).
//!
//! AWS calls per delivery: the instance keeps the last state it wrote or read of a few
//! thousand leads ([`LeadCache`]: states and versions, no message or body, so bounded in
//! bytes), so a known lead costs one write, also while the relay confirms what it sent,
//! and a duplicate it knows costs none. An unknown lead costs a conditional create; a stale cache costs a
//! conditional write that fails. Either way DynamoDB hands back the lead as it is, the
//! rules decide again, and the second write goes on that version: two calls. The cache
//! can only lag behind the table (it holds committed writes), so it never causes a wrong
//! answer: a stale entry makes the write fail its condition, never succeed wrongly.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;

use crate::core::decided::hold_one_body;
use crate::core::domain::{
    CallEvent, CampaignId, EventId, EventType, LegacyDncCreated, Phone, Timestamp,
};
use crate::core::error_chain;
use crate::core::lead::{Decision, DncSignal, Effect, decide};
use crate::core::messages::{QuarantineRecord, QueueMessage};
use crate::core::register::{DncSignalRecord, Evidence, evidence_of_request};
use crate::core::wire::{Inbound, LEGACY_DNC_CREATED, Rejection, parse_body, readable_dnc_signal};
use crate::ports::{
    BackendError, HeldForRelay, Inbox, LeadStore, LeadWrite, SaveError, StoredLead,
};

/// Leads whose last state an instance keeps: a few thousand, a few MB at most.
pub const CACHE_CAPACITY: usize = 4096;
/// The whole recording of one delivery, retries included, gets this long; then the answer
/// is a 503 the sender retries. Shorter than the function's timeout (template.yaml: 10 s).
pub const DEADLINE: Duration = Duration::from_secs(7);
/// First back-off after losing a race twice; doubles each time, with full jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(10);
const BACKOFF_CAP: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Processed {
        event_id: EventId,
        event_type: EventType,
        /// `callback` and/or `dnc`: the messages this event decided.
        effects: Vec<&'static str>,
        callback_suppressed: bool,
    },
    Duplicate {
        event_id: EventId,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("gave up after {0:?}: the lead kept changing or the backend was slow")]
    DeadlineExceeded(Duration),
}

impl RecordError {
    /// Why the event can never be recorded, if that is the case (safe to show the sender).
    pub fn permanent(&self) -> Option<&'static str> {
        match self {
            Self::Backend(e) => e.permanent,
            Self::DeadlineExceeded(_) => None,
        }
    }
}

type LeadKey = (CampaignId, Phone);

/// The last committed state this instance knows of recently seen leads.
pub struct LeadCache(Mutex<LruCache<LeadKey, StoredLead>>);

impl LeadCache {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Mutex::new(LruCache::new(capacity)))
    }

    fn get(&self, key: &LeadKey) -> Option<StoredLead> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: LeadKey, lead: Option<StoredLead>) {
        if let Ok(mut cache) = self.0.lock() {
            match lead {
                Some(lead) => {
                    cache.put(key, lead);
                }
                None => {
                    cache.pop(&key);
                }
            }
        }
    }
}

pub struct CallEventRecorder<S> {
    store: S,
    cache: LeadCache,
    deadline: Duration,
}

impl<S: LeadStore + Inbox> CallEventRecorder<S> {
    pub fn new(store: S) -> Self {
        Self::with_limits(store, CACHE_CAPACITY, DEADLINE)
    }

    pub fn with_limits(store: S, cache_capacity: usize, deadline: Duration) -> Self {
        Self {
            store,
            cache: LeadCache::new(cache_capacity),
            deadline,
        }
    }

    /// Records a lead event; `evidence` is the signed request it came in, kept with any
    /// DNC signal it carries.
    ///
    /// A permanent failure (the lead's item can never be written, or is unreadable) comes
    /// back as such, for the caller to [`quarantine`](Self::quarantine) the body with the
    /// event's DNC signal, if it carries one, so the register still gets it.
    pub async fn record(
        &self,
        event: &CallEvent,
        evidence: &Evidence,
    ) -> Result<Recorded, RecordError> {
        let recording = self.record_until_committed(event, evidence);
        match tokio::time::timeout(self.deadline, recording).await {
            Ok(result) => result,
            Err(_elapsed) => Err(RecordError::DeadlineExceeded(self.deadline)),
        }
    }

    /// Records a legacy (v1) `dnc.created`: it names no campaign, so it marks no lead; its
    /// signal goes to the register through the relay. One write.
    pub async fn record_legacy_dnc(
        &self,
        event: &LegacyDncCreated,
        evidence: &Evidence,
    ) -> Result<Recorded, RecordError> {
        let signal = DncSignalRecord::new(&DncSignal::legacy(event), evidence.clone());
        let keeping = self.store.keep_signal(&signal);
        let event_id = event.id();
        match tokio::time::timeout(self.deadline, keeping).await {
            Ok(Ok(true)) => Ok(Recorded::Processed {
                event_id,
                event_type: EventType::DncCreated,
                effects: vec!["dnc"],
                callback_suppressed: false,
            }),
            Ok(Ok(false)) => Ok(Recorded::Duplicate { event_id }),
            Ok(Err(e)) => Err(e.into()),
            Err(_elapsed) => Err(RecordError::DeadlineExceeded(self.deadline)),
        }
    }

    async fn record_until_committed(
        &self,
        event: &CallEvent,
        evidence: &Evidence,
    ) -> Result<Recorded, RecordError> {
        let id = event.id();
        let key = (event.campaign_id.clone(), event.phone.clone());
        let mut known = self.cache.get(&key);
        let mut conflicts = 0u32;
        loop {
            if conflicts >= 2 {
                // Two writers are racing on this lead: let the other one through.
                tokio::time::sleep(backoff(conflicts - 2)).await;
            }
            let held = known.as_ref().map(|l| l.relay.clone()).unwrap_or_default();
            let (state, mut decided, recorded) = match decide(known_state(&known), event, &id) {
                Decision::Duplicate => {
                    let duplicate = Recorded::Duplicate {
                        event_id: id.clone(),
                    };
                    match &known {
                        // An item of the first format that still holds unsent messages:
                        // written again unchanged, so that the relay sends them. Nothing
                        // else to write: what waits for the relay is in its index.
                        Some(lead) if !held.legacy.is_empty() && held.legacy_since.is_none() => {
                            (lead.state.clone(), held.legacy.clone(), duplicate)
                        }
                        _ => {
                            self.cache.put(key, known);
                            return Ok(duplicate);
                        }
                    }
                }
                Decision::Applied(applied) => {
                    // An earlier release's outbox, never confirmed, joins this write's entry.
                    let mut decided = held.legacy.clone();
                    for effect in &applied.effects {
                        match effect {
                            Effect::Callback(request) => {
                                decided.messages.push(QueueMessage::from(request));
                            }
                            Effect::Dnc(signal) => decided
                                .dnc_signals
                                .push(DncSignalRecord::new(signal, evidence.clone())),
                        }
                    }
                    let recorded = Recorded::Processed {
                        event_id: id.clone(),
                        event_type: event.event_type(),
                        effects: applied.effects.iter().map(|e| e.label()).collect(),
                        callback_suppressed: applied.callback_suppressed,
                    };
                    (applied.state, decided, recorded)
                }
            };
            // The item keeps one evidence body, the earliest signal's.
            let (body, dropped) = hold_one_body(held.body.as_ref(), &mut decided.dnc_signals);
            let write = LeadWrite {
                state: &state,
                decided: &decided,
                drops_body: dropped.as_deref(),
                held: &held,
                since: held.legacy_since.unwrap_or_else(Timestamp::now),
                expected_version: known.as_ref().map(|lead| lead.version),
                previous: known
                    .as_ref()
                    .filter(|lead| lead.current_format)
                    .map(|lead| &lead.state),
            };
            match self.store.save(write).await {
                Ok(version) => {
                    // What the relay confirms later does not concern the next write: it
                    // adds its own entry whatever the others became.
                    let adds = !decided.messages.is_empty() || !decided.dnc_signals.is_empty();
                    let written = StoredLead {
                        state,
                        version,
                        relay: HeldForRelay {
                            has_outbox: held.has_outbox || adds,
                            body,
                            ..HeldForRelay::default()
                        },
                        current_format: true,
                    };
                    self.cache.put(key, Some(written));
                    return Ok(recorded);
                }
                Err(SaveError::Conflict { current }) => {
                    known = current.map(|lead| *lead);
                    conflicts += 1;
                }
                Err(SaveError::Backend(e)) => return Err(e.into()),
            }
        }
    }

    /// Receives an authentic body (its signature was verified): parses it and records it,
    /// ignores it, or quarantines it. An event that parses but can never be stored is
    /// quarantined too (with its DNC signal), never answered with a failure the sender
    /// would retry; only a failure that may pass comes back as an error.
    ///
    /// One deadline covers all of it, the quarantine's writes included: a slow DynamoDB
    /// ends in [`RecordError::DeadlineExceeded`] (a 503), never in the function's timeout.
    pub async fn receive(
        &self,
        body: &[u8],
        signature_header: Option<&str>,
    ) -> (Delivery, Result<Receipt, RecordError>) {
        let inbound = parse_body(body);
        let delivery = Delivery::of(&inbound);
        let receiving = self.receive_parsed(inbound, body, signature_header);
        let result = match tokio::time::timeout(self.deadline, receiving).await {
            Ok(result) => result,
            Err(_elapsed) => Err(RecordError::DeadlineExceeded(self.deadline)),
        };
        (delivery, result)
    }

    async fn receive_parsed(
        &self,
        inbound: Result<Inbound, Rejection>,
        body: &[u8],
        signature_header: Option<&str>,
    ) -> Result<Receipt, RecordError> {
        let (result, signal) = match inbound {
            Ok(Inbound::NotHandled { .. }) => return Ok(Receipt::Ignored),
            // Safe to log whole: a rejection never repeats the offending value.
            Err(rejection) => {
                let kept = self
                    .quarantine(body, signature_header, rejection.to_string(), None)
                    .await?;
                return Ok(Receipt::Quarantined {
                    kept,
                    permanent_failure: false,
                });
            }
            Ok(Inbound::Call(event)) => {
                let evidence = evidence_of_request(signature_header, body);
                let signal = DncSignal::of_event(&event, &event.id());
                (self.record(&event, &evidence).await, signal)
            }
            Ok(Inbound::LegacyDnc(event)) => {
                let evidence = evidence_of_request(signature_header, body);
                let signal = Some(DncSignal::legacy(&event));
                (self.record_legacy_dnc(&event, &evidence).await, signal)
            }
        };
        match result {
            Ok(recorded) => Ok(Receipt::Recorded(recorded)),
            Err(e) => match e.permanent() {
                Some(why) => {
                    tracing::error!(
                        error = %error_chain(&e),
                        "permanent failure: the body is quarantined"
                    );
                    let reason = format!("cannot be stored: {why}");
                    let kept = self
                        .quarantine(body, signature_header, reason, signal)
                        .await?;
                    Ok(Receipt::Quarantined {
                        kept,
                        permanent_failure: true,
                    })
                }
                None => Err(e),
            },
        }
    }

    /// Keeps an authentic body that cannot be recorded, before the answer, and commits the
    /// DNC signal it carries for the register: `signal` when the caller read one (an event
    /// whose lead cannot be written), else whatever [`readable_dnc_signal`] can read from
    /// the body. An opt-out never waits for a person to fix the rest of its body.
    ///
    /// The signal first: if keeping it fails for a reason that may pass, the sender's retry
    /// brings it again (its id is stable, so the retry is not a second signal). A signal
    /// DynamoDB refuses for good is logged and the body is still kept: the quarantine queue
    /// then holds the only copy, and the answer does not claim the signal.
    pub async fn quarantine(
        &self,
        body: &[u8],
        signature_header: Option<&str>,
        reason: String,
        signal: Option<DncSignal>,
    ) -> Result<Quarantined, BackendError> {
        let evidence = evidence_of_request(signature_header, body);
        let received_at =
            Timestamp::parse(&evidence.received_at).unwrap_or_else(|_| Timestamp::now());
        let signal = signal.or_else(|| readable_dnc_signal(body, received_at));
        let mut dnc_kept = false;
        if let Some(signal) = &signal {
            let record = DncSignalRecord::new(signal, evidence.clone());
            match self.store.keep_signal(&record).await {
                Ok(_new_or_known) => dnc_kept = true,
                Err(e) if e.is_permanent() => tracing::error!(
                    error = %error_chain(&e),
                    "the quarantined body's DNC signal cannot be kept: it is on the quarantine queue only"
                ),
                Err(e) => return Err(e),
            }
        }
        let record = QuarantineRecord::new(evidence.received_at, reason.clone(), body)
            .signed(signature_header);
        match self.store.keep_quarantined(&record).await {
            Ok(()) => Ok(Quarantined {
                reason,
                dnc_kept,
                cut: false,
            }),
            // Every body up to the size limit fits (docs/operating.md, "Any body is kept
            // exactly"); should one still not, a 5xx would only make the sender give up on
            // the webhook: keep what is known of it, counted and alarmed.
            Err(e) if e.is_permanent() => {
                tracing::error!(
                    error = %error_chain(&e),
                    "the quarantined body cannot be kept whole: kept cut, with its length and digest"
                );
                self.store.keep_quarantined(&cut(record, body)).await?;
                Ok(Quarantined {
                    reason,
                    dnc_kept,
                    cut: true,
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// What an authentic body came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A lead event or a legacy `dnc.created`, recorded now or before.
    Recorded(Recorded),
    /// A well-formed event of a type this function does not handle: stored nowhere.
    Ignored,
    /// Kept for replay with its reason; `permanent_failure` when it parsed but can never be
    /// stored.
    Quarantined {
        kept: Quarantined,
        permanent_failure: bool,
    },
}

/// What the body says about itself, for the log line, whatever became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub event_type: Option<String>,
    pub campaign_id: Option<String>,
    pub phone: Option<Phone>,
}

impl Delivery {
    fn of(inbound: &Result<Inbound, Rejection>) -> Self {
        match inbound {
            Ok(Inbound::NotHandled { event_type }) => Self {
                event_type: Some(event_type.clone()),
                ..Self::default()
            },
            Ok(Inbound::Call(event)) => Self {
                event_type: Some(event.event_type().as_str().to_owned()),
                campaign_id: Some(event.campaign_id.as_str().to_owned()),
                phone: Some(event.phone.clone()),
            },
            Ok(Inbound::LegacyDnc(event)) => Self {
                event_type: Some(LEGACY_DNC_CREATED.to_owned()),
                phone: Some(event.phone.clone()),
                ..Self::default()
            },
            Err(_) => Self::default(),
        }
    }
}

/// A body kept for replay, and whether its DNC signal was committed for the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub reason: String,
    pub dnc_kept: bool,
    /// Kept only in part (a preview, its full length and digest): alarmed.
    pub cut: bool,
}

/// `record` with its body cut to a preview, what was cut said in the reason.
fn cut(record: QuarantineRecord, body: &[u8]) -> QuarantineRecord {
    use sha2::Digest;
    let reason = format!(
        "{}; body not kept whole: {} bytes, sha-256 {}, preview only",
        record.reason,
        body.len(),
        hex::encode(sha2::Sha256::digest(body))
    );
    QuarantineRecord {
        reason,
        body: call_events_messages::preview(body),
        body_base64: None,
        ..record
    }
}

fn known_state(known: &Option<StoredLead>) -> Option<&crate::core::lead::LeadState> {
    known.as_ref().map(|lead| &lead.state)
}

/// Full jitter: a random pause up to BASE * 2^n, capped.
fn backoff(n: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(n.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_cap_and_grows() {
        for n in 0..40 {
            assert!(backoff(n) <= BACKOFF_CAP);
        }
        let early: Duration = (0..200).map(|_| backoff(0)).max().unwrap_or_default();
        assert!(early <= BACKOFF_BASE);
    }
}
