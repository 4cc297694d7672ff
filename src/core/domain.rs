//! Domain types of a call event. Each type's constructor is the only way in, so a value
//! of the type obeys its rule (E.164 phone, DTMF key, UTC timestamp, ...).

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

/// A field rule that a value broke. `expected` says what the rule wants; the offending
/// value itself is never repeated (it may be a phone number).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be {expected}")]
pub struct RuleBroken {
    pub expected: &'static str,
}

const fn rule(expected: &'static str) -> RuleBroken {
    RuleBroken { expected }
}

/// An E.164 phone number: `+`, then 2 to 15 digits, the first not 0. Syntax only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, RuleBroken> {
        const E164: RuleBroken = rule("an E.164 number: + then 2 to 15 digits, the first not 0");
        let digits = raw.strip_prefix('+').ok_or(E164)?;
        let well_formed = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(E164)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its last 4 digits hidden, for logs.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(4);
        format!("{}{}", "*".repeat(keep), &self.0[keep..])
    }
}

/// The sender's campaign identifier: a non-empty string of at most 1024 bytes (the most
/// DynamoDB can hold in a sort key: a longer one could never be stored), not starting with
/// `#`: that prefix is reserved for the lead table's items that are not leads (a DNC signal
/// kept without a lead is keyed under its phone, with a `#` sort key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CampaignId(String);

impl CampaignId {
    pub const MAX_BYTES: usize = 1024;
    /// The sort-key prefix no campaign can take.
    pub const RESERVED_PREFIX: char = '#';

    pub fn parse(raw: &str) -> Result<Self, RuleBroken> {
        if raw.trim().is_empty() {
            Err(rule("a non-empty string"))
        } else if raw.len() > Self::MAX_BYTES {
            Err(rule("at most 1024 bytes long"))
        } else if raw.starts_with(Self::RESERVED_PREFIX) {
            Err(rule("a string that does not start with `#` (reserved)"))
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A campaign id read back from storage, where only ids valid when written are kept.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

/// The user's own lead id, when the sender knows it. Never empty: an empty string means
/// "unknown" (it also could not be a key of the `byExternalLeadId` index). At most 2048
/// bytes: the most DynamoDB can hold in the index's partition key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalLeadId(String);

impl ExternalLeadId {
    pub const MAX_BYTES: usize = 2048;

    /// `None` for an absent, null or empty id.
    pub fn parse_optional(raw: Option<String>) -> Result<Option<Self>, RuleBroken> {
        match raw.filter(|id| !id.is_empty()) {
            Some(id) if id.len() > Self::MAX_BYTES => Err(rule("at most 2048 bytes long")),
            other => Ok(other.map(Self)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id read back from storage, where only ids valid when written are kept.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

/// An instant, from an RFC 3339 timestamp with any offset, held in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn parse(raw: &str) -> Result<Self, RuleBroken> {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(|_| rule("an RFC 3339 timestamp such as 2024-01-28T12:00:00.000Z"))
    }

    /// ISO 8601 with an offset, or without one, read as UTC: the legacy (v1) envelope's
    /// `dncTimestamp` (`2021-11-16T16:00:47.293338`).
    pub fn parse_utc_default(raw: &str) -> Result<Self, RuleBroken> {
        Self::parse(raw).or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| Self(t.and_utc()))
                .map_err(|_| rule("an ISO 8601 timestamp such as 2021-11-16T16:00:47.293338"))
        })
    }

    pub fn now() -> Self {
        Self(Utc::now())
    }

    /// RFC 3339 in UTC with milliseconds, as the sender writes them and the table stores them.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The date in UTC.
    pub fn utc_date(self) -> chrono::NaiveDate {
        self.0.date_naive()
    }

    /// RFC 3339 in UTC with nanoseconds: lossless, and its text order is time order.
    pub fn to_rfc3339_exact(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }

    /// Whole seconds since the Unix epoch and the nanoseconds within the second: lossless
    /// and much quicker to write and read than RFC 3339, for the function's own attributes.
    pub fn to_unix_parts(self) -> (i64, u32) {
        (self.0.timestamp(), self.0.timestamp_subsec_nanos())
    }

    pub fn from_unix_parts(seconds: i64, nanos: u32) -> Option<Self> {
        DateTime::from_timestamp(seconds, nanos).map(Self)
    }

    /// The instant `by` earlier (the same one if that is out of range).
    pub fn minus(self, by: std::time::Duration) -> Self {
        chrono::Duration::from_std(by)
            .ok()
            .and_then(|by| self.0.checked_sub_signed(by))
            .map_or(self, Self)
    }
}

/// The lead events this function handles: the six call events, and the sender's own
/// `dnc.created` (v2 envelope), which marks the lead of its originating campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    CallInitiated,
    CallReceived,
    CallKeyPressed,
    CallTransferred,
    CallScheduled,
    CallEnded,
    DncCreated,
}

impl EventType {
    pub const ALL: [Self; 7] = [
        Self::CallInitiated,
        Self::CallReceived,
        Self::CallKeyPressed,
        Self::CallTransferred,
        Self::CallScheduled,
        Self::CallEnded,
        Self::DncCreated,
    ];

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallInitiated => "lead.call_initiated",
            Self::CallReceived => "lead.call_received",
            Self::CallKeyPressed => "lead.call_key_pressed",
            Self::CallTransferred => "lead.call_transferred",
            Self::CallScheduled => "lead.call_scheduled",
            Self::CallEnded => "lead.call_ended",
            Self::DncCreated => "dnc.created",
        }
    }

    /// Tie-break between events of one lead with the same `eventTime`: the order in which
    /// they happen within a call (a call is initiated or received, keys are pressed, it is
    /// transferred or a callback scheduled, then it ends).
    pub fn rank(self) -> u8 {
        match self {
            Self::CallInitiated => 0,
            Self::CallReceived => 1,
            Self::CallKeyPressed => 2,
            Self::CallTransferred => 3,
            Self::CallScheduled => 4,
            Self::CallEnded => 5,
            // Follows whatever happened in the call (a STOP reply, an API request).
            Self::DncCreated => 6,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $expected:literal { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, RuleBroken> {
                match raw {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(rule($expected)),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
        }
    };
}

wire_enum!(
    /// `callType` of `lead.call_ended` and `lead.call_key_pressed`.
    CallType, "one of inbound, scheduled, unscheduled" {
        Inbound => "inbound",
        Scheduled => "scheduled",
        Unscheduled => "unscheduled",
    }
);

wire_enum!(
    /// `callType` of `lead.call_transferred`.
    TransferCallType, "one of inbound, outbound, unknown" {
        Inbound => "inbound",
        Outbound => "outbound",
        Unknown => "unknown",
    }
);

wire_enum!(
    /// `callResult` of `lead.call_ended`.
    CallResult, "one of transfer, dnc, reschedule, no_response" {
        Transfer => "transfer",
        Dnc => "dnc",
        Reschedule => "reschedule",
        NoResponse => "no_response",
    }
);

/// One DTMF key: `0`-`9`, `*` or `#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfKey(char);

impl DtmfKey {
    pub const TRANSFER: Self = Self('1');
    pub const RESCHEDULE: Self = Self('2');
    pub const REMOVE_FROM_LIST: Self = Self('9');

    pub fn parse(raw: &str) -> Result<Self, RuleBroken> {
        let mut chars = raw.chars();
        match (chars.next(), chars.next()) {
            (Some(key @ ('0'..='9' | '*' | '#')), None) => Ok(Self(key)),
            _ => Err(rule("one DTMF key: 0-9, * or #")),
        }
    }

    pub fn as_char(self) -> char {
        self.0
    }
}

/// What happened, with the fields that only that event type carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEventKind {
    Initiated {
        is_scheduled: Option<bool>,
    },
    Received,
    Scheduled {
        scheduled_time: Timestamp,
    },
    Ended {
        call_type: CallType,
        call_result: CallResult,
        is_scheduled: Option<bool>,
    },
    Transferred {
        transferred_to: Phone,
        call_type: TransferCallType,
        is_scheduled: Option<bool>,
    },
    KeyPressed {
        call_type: CallType,
        key: DtmfKey,
        is_scheduled: Option<bool>,
    },
    /// `dnc.created`: the number went on the sender's Do Not Contact list.
    DncCreated {
        dnc_timestamp: Timestamp,
    },
}

/// A valid call event of one lead in one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    pub campaign_id: CampaignId,
    pub phone: Phone,
    pub external_lead_id: Option<ExternalLeadId>,
    pub event_time: Timestamp,
    pub kind: CallEventKind,
}

impl CallEvent {
    pub fn event_type(&self) -> EventType {
        match self.kind {
            CallEventKind::Initiated { .. } => EventType::CallInitiated,
            CallEventKind::Received => EventType::CallReceived,
            CallEventKind::Scheduled { .. } => EventType::CallScheduled,
            CallEventKind::Ended { .. } => EventType::CallEnded,
            CallEventKind::Transferred { .. } => EventType::CallTransferred,
            CallEventKind::KeyPressed { .. } => EventType::CallKeyPressed,
            CallEventKind::DncCreated { .. } => EventType::DncCreated,
        }
    }

    /// The event's stable id. The sender gives none, so it is derived from the event's
    /// content, which every redelivery repeats:
    ///
    /// `evt_` + the first 16 bytes, in lower-case hex, of SHA-256 over these fields
    /// joined by U+001F: `call-event/v1`, eventType, campaignId, eventTime (UTC,
    /// RFC 3339 with nanoseconds), phone, externalLeadId (empty if none), then the
    /// event's own fields in the order of `CallEventKind` (booleans as `true`/`false`,
    /// an absent `isScheduled` as empty).
    ///
    /// Two deliveries of one event give one id; events that differ in any field they
    /// carry give different ids. Formatting alone (key order, white space, the offset a
    /// timestamp is written in, unknown extra fields) does not change the id.
    pub fn id(&self) -> EventId {
        fn flag(value: Option<bool>) -> &'static str {
            match value {
                Some(true) => "true",
                Some(false) => "false",
                None => "",
            }
        }
        let time = self.event_time.to_rfc3339_exact();
        let mut fields: Vec<&str> = vec![
            "call-event/v1",
            self.event_type().as_str(),
            self.campaign_id.as_str(),
            &time,
            self.phone.as_str(),
            self.external_lead_id
                .as_ref()
                .map_or("", ExternalLeadId::as_str),
        ];
        let scheduled;
        let dnc_timestamp;
        let mut key_buf = [0u8; 4];
        match &self.kind {
            CallEventKind::Initiated { is_scheduled } => fields.push(flag(*is_scheduled)),
            CallEventKind::Received => {}
            CallEventKind::Scheduled { scheduled_time } => {
                scheduled = scheduled_time.to_rfc3339_exact();
                fields.push(&scheduled);
            }
            CallEventKind::Ended {
                call_type,
                call_result,
                is_scheduled,
            } => fields.extend([
                call_type.as_str(),
                call_result.as_str(),
                flag(*is_scheduled),
            ]),
            CallEventKind::Transferred {
                transferred_to,
                call_type,
                is_scheduled,
            } => fields.extend([
                transferred_to.as_str(),
                call_type.as_str(),
                flag(*is_scheduled),
            ]),
            CallEventKind::KeyPressed {
                call_type,
                key,
                is_scheduled,
            } => fields.extend([
                call_type.as_str(),
                &*key.as_char().encode_utf8(&mut key_buf),
                flag(*is_scheduled),
            ]),
            CallEventKind::DncCreated {
                dnc_timestamp: time,
            } => {
                dnc_timestamp = time.to_rfc3339_exact();
                fields.push(&dnc_timestamp);
            }
        }
        EventId::digest(&fields)
    }
}

/// A legacy (v1) `dnc.created`: the number went on the sender's Do Not Contact list. It
/// names no campaign (DNCs are company-wide) and has no event time of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyDncCreated {
    pub phone: Phone,
    pub external_lead_id: Option<ExternalLeadId>,
    pub dnc_timestamp: Timestamp,
}

impl LegacyDncCreated {
    /// `evt_` + the first 16 bytes, in lower-case hex, of SHA-256 over, joined by U+001F:
    /// `legacy-dnc-created/v1`, phone, dncTimestamp (UTC, RFC 3339 with nanoseconds),
    /// externalLeadId (empty if none). Stable over redeliveries, like [`CallEvent::id`].
    pub fn id(&self) -> EventId {
        EventId::digest(&[
            "legacy-dnc-created/v1",
            self.phone.as_str(),
            &self.dnc_timestamp.to_rfc3339_exact(),
            self.external_lead_id
                .as_ref()
                .map_or("", ExternalLeadId::as_str),
        ])
    }
}

/// A stable identifier of one call event: see [`CallEvent::id`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(String);

impl EventId {
    fn digest(fields: &[&str]) -> Self {
        Self(format!("evt_{}", short_digest(fields)))
    }

    /// The id of a DNC signal read leniently from a body that breaks a rule elsewhere
    /// (docs/contract.md §3): `evt_` + the digest of `dnc-signal/body/v1` and the raw body, so a
    /// redelivery of the same body gives the same id. (Once the body parses, say after a
    /// replay, its event gets its [`CallEvent::id`]: the register then counts the signal
    /// twice, and keeps the earlier of the two, which is the same moment.)
    pub fn of_unparsed_body(body: &str) -> Self {
        Self::digest(&["dnc-signal/body/v1", body])
    }

    /// An id read back from the table, where only ids made by [`CallEvent::id`] are stored.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hex of the first 16 bytes of SHA-256 over `fields` joined by U+001F: the
/// digest every id recipe uses, shared with the message crate's ids.
pub(crate) use call_events_messages::ids::short_digest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_accepts_e164_including_the_senders_examples() {
        for ok in ["+1234567890", "+1987654321", "+12", "+123456789012345"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn phone_rejects_what_is_not_e164() {
        for bad in [
            "",
            "+",
            "+1",
            "1234567890",
            "+0123456789",
            "+1234567890123456",
            "+12345 67890",
            "+1-234",
            "++123",
            "+１２３",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masked_phone_shows_only_the_last_four_digits() {
        let phone = Phone::parse("+1234567890").unwrap();
        assert_eq!(phone.masked(), "*******7890");
    }

    #[test]
    fn campaign_id_must_not_be_empty() {
        assert!(CampaignId::parse("").is_err());
        assert!(CampaignId::parse("  ").is_err());
        assert!(CampaignId::parse("abc456xyz").is_ok());
    }

    #[test]
    fn empty_external_lead_id_means_unknown() {
        assert_eq!(
            ExternalLeadId::parse_optional(Some(String::new())),
            Ok(None)
        );
        assert_eq!(ExternalLeadId::parse_optional(None), Ok(None));
        assert!(
            ExternalLeadId::parse_optional(Some("abc123".into()))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn keys_longer_than_dynamodb_can_store_break_a_field_rule() {
        assert!(CampaignId::parse(&"c".repeat(1024)).is_ok());
        assert!(CampaignId::parse(&"c".repeat(1025)).is_err());
        assert!(
            CampaignId::parse(&"é".repeat(513)).is_err(),
            "bytes, not characters"
        );
        assert!(ExternalLeadId::parse_optional(Some("x".repeat(2048))).is_ok());
        assert!(ExternalLeadId::parse_optional(Some("x".repeat(2049))).is_err());
    }

    #[test]
    fn timestamps_are_rfc3339_and_held_in_utc() {
        let t = Timestamp::parse("2024-01-28T14:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-28T12:00:00.000Z");
        for bad in [
            "2024-01-28",
            "yesterday",
            "2024-01-28T12:00:00",
            "1706443200",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_parts_round_trip_exactly() {
        for raw in [
            "2024-01-28T12:00:00.123456789Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let t = Timestamp::parse(raw).unwrap();
            let (seconds, nanos) = t.to_unix_parts();
            assert_eq!(Timestamp::from_unix_parts(seconds, nanos), Some(t));
        }
    }

    #[test]
    fn dtmf_key_is_one_of_0_to_9_star_hash() {
        for ok in ["0", "1", "9", "*", "#"] {
            assert!(DtmfKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "10", "a", "A", " 1", "٣"] {
            assert!(DtmfKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn call_type_sets_differ_by_event() {
        assert!(CallType::parse("outbound").is_err());
        assert!(TransferCallType::parse("outbound").is_ok());
        assert!(TransferCallType::parse("scheduled").is_err());
        assert!(CallResult::parse("voicemail").is_err());
    }

    #[test]
    fn event_type_ranks_are_a_total_order_over_the_lead_events() {
        let mut ranks: Vec<u8> = EventType::ALL.iter().map(|t| t.rank()).collect();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), EventType::ALL.len());
    }

    #[test]
    fn legacy_timestamp_without_offset_is_read_as_utc() {
        let naive = Timestamp::parse_utc_default("2021-11-16T16:00:47.293338").unwrap();
        assert_eq!(naive.to_rfc3339_exact(), "2021-11-16T16:00:47.293338000Z");
        let offset = Timestamp::parse_utc_default("2021-11-16T17:00:47.293338+01:00").unwrap();
        assert_eq!(naive, offset);
        assert!(Timestamp::parse_utc_default("16/11/2021").is_err());
        assert!(
            Timestamp::parse("2021-11-16T16:00:47.293338").is_err(),
            "v2 needs an offset"
        );
    }
}
