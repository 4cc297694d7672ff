//! The company-wide DNC register (docs/contract.md §4a), as pure rules: one entry per
//! phone, which keeps the earliest DNC signal with the signed request that carried it (its
//! evidence), counts the distinct signals, and tracks the phone's one `dnc.requested` to
//! completion.
//!
//! The entry's signal content (`first`, `signals`) is a function of the SET of signals.
//! Its request starts `Pending` when the phone joins the register and becomes `Sent` once
//! SQS took it: any relay pass that touches the phone, and the scheduled sweep, send a
//! pending request. The request's content is read from the entry when it is sent (its
//! earliest signal) under the phone's one id, so every retry and every sender of it sends
//! the same message: the promise rests on no single stream record.
//!
//! Bounded: the entry keeps the first signal's evidence (a body of at most 256 KiB), a
//! count, and the ids of the latest [`RECENT_SIGNAL_IDS`] signals, which is what makes a
//! signal handed over again (a stream retry, a redrive, a redelivery) change nothing. A
//! signal older than those, handed over again, is counted a second time; `first` cannot
//! change by it (it keeps the earliest by time, whatever the arrivals).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use call_events_messages::{DncRequested, DncType, SchemaVersion, ids};

use crate::core::domain::{CampaignId, EventId, ExternalLeadId, Phone, Timestamp};
use crate::core::lead::{DncSignal, SignalSource};
use crate::core::messages::{DNC_TYPE, Queue, QueueMessage};

pub use call_events_messages::{
    DncEventType, DncReason, DncSource, Evidence, ImportedKind, Provenance, SignalEvidence,
};

/// The signed request as received now: what a DNC signal keeps as its proof.
pub fn evidence_of_request(signature_header: Option<&str>, body: &[u8]) -> Evidence {
    // Exact even when the bytes are not UTF-8: serde_json does not check the text of
    // fields it skips, so such a body can still be a valid event.
    Evidence::of_request(
        Timestamp::now().to_rfc3339(),
        signature_header.unwrap_or_default().to_owned(),
        body,
    )
}

/// A DNC signal with the signed request that carried it (its evidence): what a write
/// commits for the register, and what the register keeps of the phone's earliest signal.
/// Typed: the signal is the core's [`DncSignal`]; only its stored form is text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredSignal", into = "StoredSignal")]
pub struct DncSignalRecord {
    pub signal: DncSignal,
    pub evidence: SignalEvidence,
}

/// A [`DncSignalRecord`] as the lead item's `dncSignals` and the register store it: the
/// signal's fields as text, `at` lossless (RFC 3339 with nanoseconds, so it orders
/// exactly). The bytes of every released item format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSignal {
    pub phone: String,
    #[serde(default)]
    pub campaign_id: Option<String>,
    #[serde(default)]
    pub external_lead_id: Option<String>,
    pub reason: DncReason,
    pub at: String,
    pub source: DncSource,
    pub evidence: SignalEvidence,
}

impl From<DncSignalRecord> for StoredSignal {
    fn from(record: DncSignalRecord) -> Self {
        let signal = record.signal;
        Self {
            phone: signal.phone.as_str().to_owned(),
            campaign_id: signal.campaign_id.map(|c| c.as_str().to_owned()),
            external_lead_id: signal.external_lead_id.map(|e| e.as_str().to_owned()),
            reason: signal.reason,
            at: signal.at.to_rfc3339_exact(),
            source: DncSource {
                event_type: signal.reason.event_type(),
                event_time: signal.source.event_time.to_rfc3339(),
                event_id: signal.source.event_id.as_str().to_owned(),
            },
            evidence: record.evidence,
        }
    }
}

impl TryFrom<StoredSignal> for DncSignalRecord {
    type Error = String;

    /// What was stored was valid when it was written: only the phone and times are checked
    /// again (the campaign and lead ids are taken as stored, whatever rules came since).
    fn try_from(stored: StoredSignal) -> Result<Self, Self::Error> {
        let time = |field: &str, raw: &str| {
            Timestamp::parse(raw).map_err(|e| format!("a stored DNC signal's {field}: {e}"))
        };
        let expected = match stored.reason {
            DncReason::Imported => "imported",
            DncReason::OptOut => "api",
            _ => "signed",
        };
        if stored.evidence.kind() != expected {
            return Err(format!(
                "a stored DNC signal of reason {} with the wrong kind of evidence",
                stored.reason.as_str()
            ));
        }
        Ok(Self {
            signal: DncSignal {
                phone: Phone::parse(&stored.phone)
                    .map_err(|e| format!("a stored DNC signal's phone: {e}"))?,
                campaign_id: stored.campaign_id.map(CampaignId::from_stored),
                external_lead_id: stored.external_lead_id.map(ExternalLeadId::from_stored),
                reason: stored.reason,
                at: time("at", &stored.at)?,
                source: SignalSource {
                    event_time: time("eventTime", &stored.source.event_time)?,
                    event_id: EventId::from_stored(stored.source.event_id),
                },
            },
            evidence: stored.evidence,
        })
    }
}

impl DncSignalRecord {
    /// A signal from the platform, with the signed request that carried it.
    pub fn new(signal: &DncSignal, evidence: Evidence) -> Self {
        Self {
            signal: signal.clone(),
            evidence: evidence.into(),
        }
    }

    /// Whether a platform signature stands behind the signal (it was not imported, nor
    /// recorded by a company service).
    pub fn is_signed(&self) -> bool {
        self.evidence.signed().is_some()
    }

    /// Whether the signal owes the phone its DNC request at once: a platform signal, or an
    /// opt-out a company service recorded (an imported entry owes one only if the import
    /// asked).
    pub fn owes_request(&self) -> bool {
        self.signal.reason.owes_request()
    }

    pub fn phone(&self) -> &Phone {
        &self.signal.phone
    }

    /// The signal's id: the id of the event that carried it.
    pub fn id(&self) -> &str {
        self.signal.source.event_id.as_str()
    }

    /// Earlier signals sort first: by time, then by event id (a total order).
    pub fn order(&self) -> (Timestamp, &str) {
        (self.signal.at, self.id())
    }
}

/// How many signal ids an entry remembers: far more than a phone's distinct signals
/// within the stream's 24 h (one or two in practice), so a record handed over again within
/// that time is always recognised.
pub const RECENT_SIGNAL_IDS: usize = 32;

/// Where the phone's one `dnc.requested` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestState {
    /// None is owed: every signal of the entry was imported, without `--request`. The
    /// first signal from the platform makes one owed ([`register`]).
    NotOwed,
    /// Decided, not yet taken by SQS, since this time (RFC 3339): owed by a signal the
    /// platform (or another channel) reported, taken by SQS within 5 minutes.
    Pending { since: String },
    /// Owed by an import (`import --request`), since this time, due by `due` (10 business
    /// days after the import, [`import_due`]): it leaves at the sweep's import pace, after
    /// every platform request (docs/contract.md §5). A platform signal for the phone makes
    /// it [`RequestState::Pending`].
    PendingImport { since: String, due: String },
    /// SQS took it at this time (RFC 3339).
    Sent { at: String },
    /// SQS refused it for good (parked with the reason, alarmed): not sent, and out of the
    /// sweep's reach until a person puts it back (docs/operating.md).
    Refused { why: String },
}

impl RequestState {
    pub const NONE: &str = "none";
    pub const PENDING: &str = "pending";
    pub const SENT: &str = "sent";
    pub const REFUSED: &str = "refused";

    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending { .. } | Self::PendingImport { .. })
    }

    /// The state's name, as the register item's `requestState` and `prove` write it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotOwed => Self::NONE,
            Self::Pending { .. } | Self::PendingImport { .. } => Self::PENDING,
            Self::Sent { .. } => Self::SENT,
            Self::Refused { .. } => Self::REFUSED,
        }
    }
}

/// One phone's entry in the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterEntry {
    /// The earliest signal by time, with its evidence, whatever its kind.
    pub first: DncSignalRecord,
    /// When `first` was imported: the earliest signal a platform signature stands behind,
    /// if the phone has one, so that an import of an earlier date never costs the register
    /// a signed proof. None when `first` is signed.
    pub signed: Option<DncSignalRecord>,
    /// Distinct signals seen for the phone.
    pub signals: u64,
    /// The latest signals' ids, oldest first, at most [`RECENT_SIGNAL_IDS`].
    pub recent_signal_ids: VecDeque<String>,
    pub request: RequestState,
    /// An entry of the first release, which recorded no send ([`EARLIER_RELEASE_REQUEST`]):
    /// the business days are counted to the first send this release recorded
    /// (docs/contract.md §4a).
    pub earlier_request: Option<String>,
}

/// What an entry of the first release says of its request: nothing. The first release
/// kept no request state; it may have sent the request, or given up the batch that would
/// have, so no send is claimed, and the business days run to the first recorded send.
pub const EARLIER_RELEASE_REQUEST: &str = "no send recorded by the first release (it kept no request state: it may have sent one, \
     or given up the batch)";

/// What a signal does to the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The signal was already there: nothing to write.
    Known(RegisterEntry),
    /// The entry to write.
    Changed(RegisterEntry),
}

/// Adds `signal` to the phone's entry, if it has one. A request is owed, pending since
/// `now`, from the first signal the platform reported: a new entry of a signed signal, or
/// an entry that owed none (imported) when a signed one comes. An imported signal makes a
/// new entry that owes none (`import --request` asks for one itself).
pub fn register(
    old: Option<&RegisterEntry>,
    signal: &DncSignalRecord,
    now: Timestamp,
) -> Registered {
    let owed = || RequestState::Pending {
        since: now.to_rfc3339(),
    };
    let Some(old) = old else {
        return Registered::Changed(RegisterEntry {
            first: signal.clone(),
            signed: None,
            signals: 1,
            recent_signal_ids: VecDeque::from([signal.id().to_owned()]),
            request: match signal.owes_request() {
                true => owed(),
                false => RequestState::NotOwed,
            },
            earlier_request: None,
        });
    };
    if old.recent_signal_ids.iter().any(|id| id == signal.id()) {
        return Registered::Known(old.clone());
    }
    let mut entry = old.clone();
    entry.signals += 1;
    entry.recent_signal_ids.push_back(signal.id().to_owned());
    while entry.recent_signal_ids.len() > RECENT_SIGNAL_IDS {
        entry.recent_signal_ids.pop_front();
    }
    let signed = [Some(&old.first), old.signed.as_ref(), Some(signal)]
        .into_iter()
        .flatten()
        .filter(|s| s.is_signed())
        .min_by(|a, b| a.order().cmp(&b.order()))
        .cloned();
    if signal.order() < entry.first.order() {
        entry.first = signal.clone();
    }
    entry.signed = signed.filter(|_| !entry.first.is_signed());
    // The platform's signal is owed its request at the platform's pace, whatever an import
    // asked before.
    let owed_by_import = matches!(
        entry.request,
        RequestState::NotOwed | RequestState::PendingImport { .. }
    );
    if owed_by_import && signal.owes_request() {
        entry.request = owed();
    }
    Registered::Changed(entry)
}

/// When a request an import owes at `now` is due: the same time of day, 10 business days
/// (Monday to Friday, UTC) later, as the rule gives an opt-out
/// ([`crate::core::proof::HONOURED_WITHIN_BUSINESS_DAYS`]).
pub fn import_due(now: Timestamp) -> String {
    use chrono::{Datelike, Weekday};
    let days = now
        .utc_date()
        .iter_days()
        .skip(1)
        .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
        .nth(crate::core::proof::HONOURED_WITHIN_BUSINESS_DAYS as usize - 1)
        .and_then(|due| {
            due.signed_duration_since(now.utc_date())
                .num_days()
                .try_into()
                .ok()
        })
        .unwrap_or(14u64);
    let (seconds, nanos) = now.to_unix_parts();
    let due = seconds.saturating_add(i64::try_from(days * 86_400).unwrap_or(i64::MAX));
    Timestamp::from_unix_parts(due, nanos)
        .unwrap_or(now)
        .to_rfc3339()
}

/// The id of the one DNC request a phone can ever cause, company-wide
/// ([`call_events_messages::ids::dnc_request_id`]).
pub fn dnc_request_id(phone: &Phone) -> String {
    ids::dnc_request_id(phone.as_str())
}

/// The phone's `dnc.requested`, from its earliest signal (whatever its kind: an imported
/// one's request carries its provenance).
pub fn dnc_request(phone: &Phone, entry: &RegisterEntry) -> QueueMessage {
    let first = StoredSignal::from(entry.first.clone());
    let message = DncRequested {
        schema_version: SchemaVersion,
        message_type: DncType::DncRequested,
        id: dnc_request_id(phone),
        campaign_id: first.campaign_id,
        phone: phone.as_str().to_owned(),
        external_lead_id: first.external_lead_id,
        reason: first.reason,
        requested_at: entry.first.signal.at.to_rfc3339(),
        source: first.source,
        evidence: first.evidence,
    };
    QueueMessage {
        queue: Queue::Dnc,
        message_type: DNC_TYPE.to_owned(),
        campaign_id: message.campaign_id.clone(),
        group: message.phone.clone(),
        body: call_events_messages::to_json(&message),
        id: message.id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imports_request_is_due_ten_business_days_after_the_import() {
        // A Friday: the 10th weekday after it is the Friday two weeks on.
        let friday = Timestamp::parse("2026-12-04T15:30:00.000Z").unwrap();
        assert_eq!(import_due(friday), "2026-12-18T15:30:00.000Z");
        // A Saturday: the weekend counts for nothing.
        let saturday = Timestamp::parse("2026-12-05T08:00:00.000Z").unwrap();
        assert_eq!(import_due(saturday), "2026-12-18T08:00:00.000Z");
    }

    impl Registered {
        fn entry(&self) -> &RegisterEntry {
            match self {
                Self::Known(entry) | Self::Changed(entry) => entry,
            }
        }
    }

    fn signal(id: &str, at: &str, campaign: Option<&str>) -> DncSignalRecord {
        DncSignalRecord::try_from(StoredSignal {
            phone: "+12025550100".into(),
            campaign_id: campaign.map(str::to_owned),
            external_lead_id: None,
            reason: DncReason::Keypress9,
            at: at.into(),
            source: DncSource {
                event_type: DncReason::Keypress9.event_type(),
                event_time: at.into(),
                event_id: id.into(),
            },
            evidence: Evidence {
                received_at: "2024-01-28T12:00:01.000Z".into(),
                signature_header: "t=1,v2=00".into(),
                body: "{}".into(),
                body_base64: None,
            }
            .into(),
        })
        .unwrap()
    }

    fn apply(signals: &[DncSignalRecord]) -> Option<RegisterEntry> {
        signals.iter().fold(None, |entry, s| {
            Some(
                register(entry.as_ref(), s, Timestamp::now())
                    .entry()
                    .clone(),
            )
        })
    }

    #[test]
    fn the_first_signal_is_the_earliest_by_time_whatever_the_arrival_order() {
        let early = signal("evt_a", "2024-01-28T12:00:00Z", Some("b"));
        let late = signal("evt_b", "2024-01-28T13:00:00Z", Some("a"));
        let one = apply(&[late.clone(), early.clone()]).unwrap();
        let other = apply(&[early.clone(), late.clone()]).unwrap();
        assert_eq!(one.first, early);
        assert_eq!(one.first, other.first);
        assert_eq!(one.signals, 2);
        assert!(one.request.is_pending(), "a new entry's request is pending");
    }

    #[test]
    fn the_entry_stays_bounded_and_counts_every_distinct_signal() {
        let signals: Vec<_> = (0..RECENT_SIGNAL_IDS * 3)
            .map(|i| signal(&format!("evt_{i:03}"), "2024-01-28T12:00:00Z", None))
            .collect();
        let entry = apply(&signals).unwrap();
        assert_eq!(entry.signals, signals.len() as u64);
        assert_eq!(entry.recent_signal_ids.len(), RECENT_SIGNAL_IDS);
        // The latest are remembered: handed over again, they change nothing.
        let last = signals.last().unwrap();
        assert!(matches!(
            register(Some(&entry), last, Timestamp::now()),
            Registered::Known(_)
        ));
        assert_eq!(
            entry.first.id(),
            "evt_000",
            "the earliest (tie: smallest id)"
        );
    }

    #[test]
    fn a_new_signal_leaves_the_request_as_it_was() {
        let mut entry = apply(&[signal("evt_a", "2024-01-28T12:00:00Z", None)]).unwrap();
        entry.request = RequestState::Sent {
            at: "2024-01-28T12:00:05.000Z".into(),
        };
        let later = signal("evt_b", "2024-01-28T11:00:00Z", None);
        let changed = register(Some(&entry), &later, Timestamp::now());
        assert_eq!(changed.entry().request, entry.request);
        assert_eq!(changed.entry().first, later);
    }

    #[test]
    fn a_known_signal_changes_nothing() {
        let s = signal("evt_a", "2024-01-28T12:00:00Z", None);
        let entry = apply(std::slice::from_ref(&s)).unwrap();
        assert_eq!(
            register(Some(&entry), &s, Timestamp::now()),
            Registered::Known(entry)
        );
    }

    #[test]
    fn the_request_id_is_one_per_phone_whatever_the_campaign() {
        let phone = Phone::parse("+12025550100").unwrap();
        let a = apply(&[signal("evt_a", "2024-01-28T12:00:00Z", Some("a"))]).unwrap();
        let b = apply(&[signal("evt_b", "2024-01-28T12:00:00Z", Some("b"))]).unwrap();
        assert_eq!(dnc_request(&phone, &a).id, dnc_request(&phone, &b).id);
        assert_ne!(
            dnc_request_id(&phone),
            dnc_request_id(&Phone::parse("+12025550101").unwrap())
        );
    }
}
