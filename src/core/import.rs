//! `call-events-dnc import`'s rules (docs/contract.md §4a, §8): a line of a list the
//! company already keeps, as an imported DNC signal, and what that signal does to the
//! phone's register entry. Pure: the command reads the file and the use case
//! ([`crate::usecases::import`]) reads and writes the register.
//!
//! An imported signal's evidence is its provenance (the list's name, the file's SHA-256,
//! the line's number and exact text, the import's time). Its time (`dncAt`) is the line's
//! `requestedAt`, or the import's. Its id is made from what the line says: the list, the
//! phone, and its `requestedAt` (without one, the file's hash), so the same entry imported
//! again, from the same file or from a later export of the same list, is the register's
//! known signal and changes nothing.

use crate::core::dial_list::{Country, NotAPhone, read_phone};
use crate::core::domain::{EventId, Phone, Timestamp};
use crate::core::lead::{DncSignal, SignalSource};
use crate::core::register::{
    DncReason, DncSignalRecord, ImportedKind, Provenance, RegisterEntry, Registered, RequestState,
    import_due, register,
};

/// One import: which list, which file, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    /// The list's name (`--source`).
    pub source: String,
    /// The SHA-256 of the file's bytes, lower-case hex.
    pub file_sha256: String,
    pub imported_at: Timestamp,
}

/// Why a line is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadLine {
    #[error("{0}")]
    Phone(NotAPhone),
    #[error("requestedAt {0:?} is not a date (2024-01-28, or 2024-01-28T12:00:00Z)")]
    NotADate(String),
    #[error("requestedAt {0:?} is in the future")]
    Future(String),
    #[error("the line is longer than {LINE_TEXT_MAX} bytes")]
    TooLong,
}

/// The longest line an import keeps as provenance: far more than a DNC list's line, and
/// small enough that an entry always has room for a signed signal's evidence beside it.
pub const LINE_TEXT_MAX: usize = 4096;

/// A line's exact text (`raw`: its bytes without the line ending), as its provenance keeps
/// it: bytes that are not UTF-8 are shown as U+FFFD.
pub fn line_text(raw: &[u8]) -> Result<String, BadLine> {
    match raw.len() > LINE_TEXT_MAX {
        true => Err(BadLine::TooLong),
        false => Ok(String::from_utf8_lossy(raw).into_owned()),
    }
}

/// A line's `requestedAt`: an RFC 3339 time, or a date (its first moment, UTC). Empty is
/// none (the signal then takes the import's time).
pub fn requested_at(value: &str, now: Timestamp) -> Result<Option<Timestamp>, BadLine> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let at = Timestamp::parse(value)
        .ok()
        .or_else(|| {
            let date = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
            let (seconds, nanos) = (date.and_hms_opt(0, 0, 0)?.and_utc().timestamp(), 0);
            Timestamp::from_unix_parts(seconds, nanos)
        })
        .ok_or_else(|| BadLine::NotADate(value.to_owned()))?;
    match at > now {
        true => Err(BadLine::Future(value.to_owned())),
        false => Ok(Some(at)),
    }
}

/// A line of the list, read: its phone and `requestedAt`.
pub fn read_line(
    phone: &str,
    requested: Option<&str>,
    country: Country,
    now: Timestamp,
) -> Result<(Phone, Option<Timestamp>), BadLine> {
    let phone = read_phone(phone, country).map_err(BadLine::Phone)?;
    let at = requested_at(requested.unwrap_or_default(), now)?;
    Ok((phone, at))
}

/// The id of an imported signal: `imp_` and 32 hex digits of what the line says.
pub fn signal_id(run: &ImportRun, phone: &Phone, requested_at: Option<Timestamp>) -> EventId {
    let when = match requested_at {
        Some(at) => format!("at/{}", at.to_rfc3339_exact()),
        None => format!("file/{}", run.file_sha256),
    };
    let digest = call_events_messages::ids::short_digest(&[
        "dnc-import/v1",
        &run.source,
        phone.as_str(),
        &when,
    ]);
    EventId::from_stored(format!("imp_{digest}"))
}

/// The imported signal of line `line` (its exact text `line_text`).
pub fn imported_signal(
    run: &ImportRun,
    phone: Phone,
    requested_at: Option<Timestamp>,
    line: u64,
    line_text: String,
) -> DncSignalRecord {
    let id = signal_id(run, &phone, requested_at);
    DncSignalRecord {
        signal: DncSignal {
            phone,
            campaign_id: None,
            external_lead_id: None,
            reason: DncReason::Imported,
            at: requested_at.unwrap_or(run.imported_at),
            source: SignalSource {
                event_time: run.imported_at,
                event_id: id,
            },
        },
        evidence: Provenance {
            kind: ImportedKind::Imported,
            source: run.source.clone(),
            file_sha256: run.file_sha256.clone(),
            line,
            line_text,
            imported_at: run.imported_at.to_rfc3339(),
        }
        .into(),
    }
}

/// What an imported signal did to the phone's entry (the import's summary counts these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Taken {
    /// The phone was not on the register: it is now, this signal first.
    Added,
    /// The register already had this signal (an earlier import of the same entry).
    AlreadyThere,
    /// On the register with an earlier signal, which stays first; this one is counted.
    EarlierKept,
    /// On the register with a later signal: this one is now the first (the later one, if
    /// signed, is kept beside it).
    NowFirst,
}

impl Taken {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::AlreadyThere => "already there",
            Self::EarlierKept => "earlier date kept",
            Self::NowFirst => "now first",
        }
    }
}

/// `signal` taken into the phone's entry (`old`): what it did and the entry after. With
/// `request`, a phone new to the register is owed a DNC request, pending since `now`.
pub fn take(
    old: Option<&RegisterEntry>,
    signal: &DncSignalRecord,
    now: Timestamp,
    request: bool,
) -> (Taken, RegisterEntry) {
    match (old, register(old, signal, now)) {
        (_, Registered::Known(entry)) => (Taken::AlreadyThere, entry),
        (None, Registered::Changed(mut entry)) => {
            if request {
                entry.request = RequestState::PendingImport {
                    since: now.to_rfc3339(),
                    due: import_due(now),
                };
            }
            (Taken::Added, entry)
        }
        (Some(old), Registered::Changed(entry)) => match entry.first == old.first {
            true => (Taken::EarlierKept, entry),
            false => (Taken::NowFirst, entry),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::register::evidence_of_request;

    const NOW: &str = "2026-12-06T10:00:00.000Z";

    fn now() -> Timestamp {
        Timestamp::parse(NOW).unwrap()
    }

    fn run(file: &str) -> ImportRun {
        ImportRun {
            source: "crm".into(),
            file_sha256: file.into(),
            imported_at: now(),
        }
    }

    fn phone() -> Phone {
        Phone::parse("+12025550100").unwrap()
    }

    fn imported(file: &str, at: Option<&str>, line: u64) -> DncSignalRecord {
        let at = at.map(|a| requested_at(a, now()).unwrap().unwrap());
        imported_signal(&run(file), phone(), at, line, "+12025550100".into())
    }

    fn signed(at: &str, id: &str) -> DncSignalRecord {
        let signal = DncSignal {
            phone: phone(),
            campaign_id: None,
            external_lead_id: None,
            reason: DncReason::Keypress9,
            at: Timestamp::parse(at).unwrap(),
            source: SignalSource {
                event_time: Timestamp::parse(at).unwrap(),
                event_id: EventId::from_stored(id.into()),
            },
        };
        DncSignalRecord::new(&signal, evidence_of_request(Some("t=1,v2=00"), b"{}"))
    }

    #[test]
    fn requested_at_is_a_time_or_a_date_never_in_the_future() {
        let at = requested_at("2024-01-28", now()).unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2024-01-28T00:00:00.000Z");
        let at = requested_at("2024-01-28T12:30:00+01:00", now()).unwrap();
        assert_eq!(at.unwrap().to_rfc3339(), "2024-01-28T11:30:00.000Z");
        assert_eq!(requested_at("  ", now()), Ok(None));
        assert!(matches!(
            requested_at("28/01/2024", now()),
            Err(BadLine::NotADate(_))
        ));
        assert!(matches!(
            requested_at("2024-02-30", now()),
            Err(BadLine::NotADate(_))
        ));
        assert!(matches!(
            requested_at("2099-01-01", now()),
            Err(BadLine::Future(_))
        ));
    }

    #[test]
    fn the_same_entry_has_the_same_id_from_any_file_and_without_a_date_its_files() {
        let a = imported("aa", Some("2024-01-28"), 2);
        let b = imported("bb", Some("2024-01-28"), 7);
        assert_eq!(a.id(), b.id(), "a later export of the same entry");
        assert!(
            a.id().starts_with("imp_") && a.id().len() == 36,
            "{}",
            a.id()
        );
        assert_ne!(imported("aa", None, 2).id(), imported("bb", None, 2).id());
        assert_ne!(a.id(), imported("aa", Some("2024-01-29"), 2).id());
        assert_eq!(
            imported("aa", None, 2).signal.at,
            now(),
            "the import's time"
        );
    }

    #[test]
    fn a_new_phone_owes_no_request_unless_asked_and_a_second_import_changes_nothing() {
        let signal = imported("aa", Some("2024-01-28"), 2);
        let (taken, entry) = take(None, &signal, now(), false);
        assert_eq!(taken, Taken::Added);
        assert_eq!(entry.request, RequestState::NotOwed);
        let (taken, again) = take(Some(&entry), &signal, now(), false);
        assert_eq!((taken, &again), (Taken::AlreadyThere, &entry));
        let (_, asked) = take(None, &signal, now(), true);
        assert!(asked.request.is_pending());
    }

    #[test]
    fn an_earlier_import_goes_first_and_the_signed_signal_stays_beside_it() {
        let platform = signed("2025-06-01T00:00:00Z", "evt_a");
        let entry = match register(None, &platform, now()) {
            Registered::Changed(entry) => entry,
            Registered::Known(_) => unreachable!(),
        };
        let earlier = imported("aa", Some("2024-01-28"), 2);
        let (taken, after) = take(Some(&entry), &earlier, now(), true);
        assert_eq!(taken, Taken::NowFirst);
        assert_eq!(after.first, earlier);
        assert_eq!(after.signed.as_ref(), Some(&platform));
        assert_eq!(
            after.request, entry.request,
            "the request is the platform's"
        );
        assert_eq!(after.signals, 2);

        let later = imported("aa", Some("2025-07-01"), 3);
        let (taken, kept) = take(Some(&entry), &later, now(), true);
        assert_eq!(taken, Taken::EarlierKept);
        assert_eq!((kept.first, kept.signed), (platform, None));
    }

    #[test]
    fn a_platform_signal_makes_an_imported_entry_owe_its_request() {
        let (_, entry) = take(None, &imported("aa", None, 2), now(), false);
        let platform = signed("2026-12-06T11:00:00Z", "evt_a");
        let Registered::Changed(after) = register(Some(&entry), &platform, now()) else {
            panic!("a new signal")
        };
        assert!(after.request.is_pending());
        assert!(!after.first.is_signed(), "the import is still the earliest");
        assert_eq!(after.signed, Some(platform));
    }
}
