//! The lead table's items, as the contract names their attributes (docs/contract.md §4), plus the
//! function's own: `formatVersion`, `recentEvents` and `eventHorizon` (duplicate detection,
//! bounded: see [`crate::core::lead::RECENT_EVENTS`]), `eventOrder` (which event set each "latest"
//! attribute), and `outbox`, `dncSignals` with `outboxVersion`: what the write of that
//! version decided, which the relay reads from the stream's new image.
//!
//! Formats: 1 (the first release; no `formatVersion`) kept every event id in `eventIds`
//! and unsent messages in `outbox`; 2 (this one) keeps order keys of the latest events. Both
//! are read; only 2 is written. `tests/item_formats.rs` reads a fixture of each.
//!
//! The same table holds a few items that are not leads, so that what they decided reaches
//! the relay through the same stream (docs/contract.md §4: lead items are exactly those whose
//! `phone` starts with `+` and whose `campaignId` does not start with `#`):
//! - a DNC signal kept without a lead (a legacy v1 `dnc.created`, a signal read leniently
//!   from a quarantined body, the signal of an event whose lead cannot be written): keyed
//!   under its phone, sort key `#dnc-signal#<event id>`, so it travels on the same stream
//!   shard as that phone's leads and reaches the register before a later callback;
//! - a quarantined body, which may have no readable phone: `quarantine#<digest>`;
//! - what the relay could not send anywhere else (`#relay`, see [`parked_item`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::core::decided::Decided;
use crate::core::domain::{
    CallResult, CampaignId, DtmfKey, EventId, EventType, ExternalLeadId, Phone, Timestamp,
    short_digest,
};
use crate::core::lead::{Counters, DncReason, EventOrder, LeadState, Stamped, Status};
use crate::core::messages::{QuarantineRecord, QueueMessage};
use crate::core::register::DncSignalRecord;
use crate::ports::{BackendError, Parked, StoredLead};

/// The item format this code writes.
pub const FORMAT_VERSION: u64 = 2;

pub const PARTITION_KEY: &str = "phone";
pub const SORT_KEY: &str = "campaignId";
/// The attribute of optimistic concurrency, on lead items and register entries alike.
pub const VERSION: &str = "version";

/// The one rule of every versioned write, on DynamoDB and in memory: the write goes
/// through only if the stored item is at `expected` (`None`: there is no item). DynamoDB
/// evaluates it as [`version_condition`] says; the in-memory adapters call this.
pub fn version_condition_holds(
    current: Option<&HashMap<String, AttributeValue>>,
    expected: Option<u64>,
) -> bool {
    let stored = current.map(|item| {
        item.get(VERSION)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    });
    match (stored, expected) {
        (None, None) => true,
        (Some(stored), Some(expected)) => stored == Some(expected),
        _ => false,
    }
}

/// [`version_condition_holds`] as a DynamoDB condition on a put: the expression, and its
/// attribute names and values (`key` is the table's partition key).
pub fn version_condition(
    key: &'static str,
    expected: Option<u64>,
) -> (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<AttributeValue>,
) {
    match expected {
        None => ("attribute_not_exists(#pk)", vec![("#pk", key)], None),
        Some(v) => (
            "#version = :expected",
            vec![("#version", VERSION)],
            Some(AttributeValue::N(v.to_string())),
        ),
    }
}

/// Applies [`version_condition`] to a PutItem.
pub fn versioned(
    request: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    key: &'static str,
    expected: Option<u64>,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    let (expression, names, value) = version_condition(key, expected);
    let mut request = request.condition_expression(expression);
    for (placeholder, name) in names {
        request = request.expression_attribute_names(placeholder, name);
    }
    match value {
        Some(value) => request.expression_attribute_values(":expected", value),
        None => request,
    }
}
pub const EXTERNAL_LEAD_ID_INDEX: &str = "byExternalLeadId";
/// What the index carries besides its keys: what a CRM looking a lead up by its own id
/// needs to act. Everything else (the function's own attributes above all) stays out, so
/// a write does not pay for it twice.
pub const INDEX_ATTRIBUTES: [&str; 6] = [
    "status",
    "dnc",
    "dncAt",
    "lastEventType",
    "lastEventTime",
    "updatedAt",
];
/// The attribute DynamoDB's time to live reads (quarantine records only).
pub const EXPIRES_AT: &str = "expiresAt";
/// How long a quarantine record stays in the table after the relay forwarded it: as long
/// as the quarantine queue keeps it, so an operator can always find the original.
pub const QUARANTINE_KEPT_SECONDS: i64 = 14 * 24 * 3600;

/// The partition key prefix of a quarantined body (no phone starts with it).
pub const QUARANTINE_PREFIX: &str = "quarantine#";

/// The key of a lead's item.
pub fn lead_key(campaign_id: &CampaignId, phone: &Phone) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            PARTITION_KEY.to_owned(),
            AttributeValue::S(phone.as_str().into()),
        ),
        (
            SORT_KEY.to_owned(),
            AttributeValue::S(campaign_id.as_str().into()),
        ),
    ])
}

/// The DynamoDB item for a lead: its state, the messages this write decided and its
/// version, written at `now`.
pub fn lead_item(
    state: &LeadState,
    outbox: &Decided,
    version: u64,
    now: Timestamp,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    serde_dynamo::to_item(TableItem::from_state(state, outbox, version, now))
}

/// A lead read back from its DynamoDB item.
pub fn stored_lead(item: HashMap<String, AttributeValue>) -> Result<StoredLead, BackendError> {
    let unreadable = "the stored lead item is unreadable";
    let item: TableItem = serde_dynamo::from_item(item)
        .map_err(|e| BackendError::permanent("reading the lead item", unreadable, e))?;
    item.into_stored()
        .map_err(|e| BackendError::permanent("reading the lead item", unreadable, e))
}

/// Every item of the lead table, as stored: a lead, a DNC signal kept without a lead, a
/// quarantined body, or what the relay parked. The one codec of the table: each attribute
/// name is written here once (the camelCase of its field), and the webhook, the relay, the
/// in-memory store and the fuzz targets all read and write through this struct. Lead
/// attributes are part of the contract (other services read them); a lead has all those
/// this code always writes, the other kinds none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableItem {
    phone: String,
    campaign_id: String,
    // --- a lead (docs/contract.md §4) ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_lead_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_event_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_call_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_call_result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_keypress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transferred_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduled_callback_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calls_initiated: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calls_received: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calls_ended: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calls_transferred: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keypresses: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dnc: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dnc_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dnc_reason: Option<String>,
    /// Absent in format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format_version: Option<u64>,
    /// Format 1 only: every event id ever seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    event_ids: Vec<String>,
    /// Order keys (see [`order_key`]) of the latest events, at most `RECENT_EVENTS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_events: Vec<String>,
    /// Order key of the latest event forgotten, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_horizon: Option<String>,
    /// Order key (see [`order_key`]) of each event that set "latest" attributes -> the
    /// names of those attributes. Keyed by event, as one event usually sets several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_order: Option<BTreeMap<String, Vec<String>>>,
    // --- what the write decided, and its version (the relay reads only these) ---
    /// Optimistic concurrency ([`VERSION`]): leads and signals kept without a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    /// The messages decided by the write of `outboxVersion`, by id. Absent when that write
    /// decided none. Items of the first format had an outbox without `outboxVersion`:
    /// messages not yet confirmed sent, which the next write carries over.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    outbox: BTreeMap<String, QueueMessage>,
    /// The DNC signals (with their evidence) decided by the write of `outboxVersion`, by
    /// event id, for the register.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dnc_signals: BTreeMap<String, DncSignalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_version: Option<u64>,
    /// A body kept for replay, which the relay forwards to the quarantine queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine: Option<QuarantineRecord>,
    // --- not a lead ---
    /// DynamoDB's time to live ([`EXPIRES_AT`]): quarantined bodies, signals kept without a
    /// lead. Never on a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    /// What the relay parked: `parked` or `stream-gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

/// The relay's projection of [`TableItem`]: the attributes that say what a write decided,
/// so an attribute another writer damaged elsewhere in a lead item does not stop the relay.
/// The same names as in `TableItem` (a test holds them to it); a projection rather than a
/// flattened part of `TableItem`, because serde's `flatten` made every write 1.5 µs dearer
/// (BENCHMARKS.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecidedAttributes {
    /// Optimistic concurrency ([`VERSION`]): leads and signals kept without a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    /// The messages decided by the write of `outboxVersion`, by id. Absent when that write
    /// decided none. Items of the first format had an outbox without `outboxVersion`:
    /// messages not yet confirmed sent, which the next write carries over.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    outbox: BTreeMap<String, QueueMessage>,
    /// The DNC signals (with their evidence) decided by the write of `outboxVersion`, by
    /// event id, for the register.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dnc_signals: BTreeMap<String, DncSignalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_version: Option<u64>,
    /// A body kept for replay, which the relay forwards to the quarantine queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine: Option<QuarantineRecord>,
}

/// The names under which `eventOrder` records which event set each "latest" attribute:
/// the attributes' own names, and `lastEvent` for the lead's latest event.
mod stamp {
    pub const LAST_EVENT: &str = "lastEvent";
    pub const EXTERNAL_LEAD_ID: &str = "externalLeadId";
    pub const STATUS: &str = "status";
    pub const LAST_CALL_TYPE: &str = "lastCallType";
    pub const LAST_CALL_RESULT: &str = "lastCallResult";
    pub const LAST_KEYPRESS: &str = "lastKeypress";
    pub const TRANSFERRED_TO: &str = "transferredTo";
    pub const SCHEDULED_CALLBACK_TIME: &str = "scheduledCallbackTime";
    pub const DNC: &str = "dnc";
}

/// An item this function cannot read back: written by something else, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("lead item attribute {0} is missing or invalid")]
pub struct CorruptItem(&'static str);

/// `<unix seconds>.<nanoseconds>|<type rank>|<event id>`: the event's place in the order.
fn order_key(at: &EventOrder) -> String {
    let (seconds, nanos) = at.time.to_unix_parts();
    format!("{seconds}.{nanos:09}|{}|{}", at.rank, at.id)
}

fn parse_order_key(key: &str) -> Option<EventOrder> {
    let mut parts = key.splitn(3, '|');
    let (seconds, nanos) = parts.next()?.split_once('.')?;
    let time = Timestamp::from_unix_parts(seconds.parse().ok()?, nanos.parse().ok()?)?;
    let rank = parts.next()?.parse().ok()?;
    let id = EventId::from_stored(parts.next()?.to_owned());
    Some(EventOrder { time, rank, id })
}

/// The remembered events: format 2's order keys, and format 1's bare ids, which had no
/// order and are put at the epoch (the first forgotten when the bound is reached).
fn recent_events(
    keys: &[String],
    legacy_ids: Vec<String>,
) -> Result<BTreeSet<EventOrder>, CorruptItem> {
    let mut recent: BTreeSet<EventOrder> = keys
        .iter()
        .map(|key| parse_order_key(key).ok_or(CorruptItem("recentEvents")))
        .collect::<Result<_, _>>()?;
    let epoch = Timestamp::from_unix_parts(0, 0).ok_or(CorruptItem("eventIds"))?;
    recent.extend(legacy_ids.into_iter().map(|id| EventOrder {
        time: epoch,
        rank: 0,
        id: EventId::from_stored(id),
    }));
    Ok(recent)
}

impl TableItem {
    fn from_state(state: &LeadState, outbox: &Decided, version: u64, now: Timestamp) -> Self {
        let mut event_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut mark = |name: &'static str, at: &EventOrder| {
            event_order
                .entry(order_key(at))
                .or_default()
                .push(name.to_owned());
        };
        fn value<T, R>(slot: &Option<Stamped<T>>, f: impl Fn(&T) -> R) -> Option<R> {
            slot.as_ref().map(|s| f(&s.value))
        }
        for (name, at) in [
            (stamp::LAST_EVENT, Some(&state.last_event.at)),
            (
                stamp::EXTERNAL_LEAD_ID,
                state.external_lead_id.as_ref().map(|s| &s.at),
            ),
            (stamp::STATUS, state.decided_status.as_ref().map(|s| &s.at)),
            (
                stamp::LAST_CALL_TYPE,
                state.last_call_type.as_ref().map(|s| &s.at),
            ),
            (
                stamp::LAST_CALL_RESULT,
                state.last_call_result.as_ref().map(|s| &s.at),
            ),
            (
                stamp::LAST_KEYPRESS,
                state.last_keypress.as_ref().map(|s| &s.at),
            ),
            (
                stamp::TRANSFERRED_TO,
                state.transferred_to.as_ref().map(|s| &s.at),
            ),
            (
                stamp::SCHEDULED_CALLBACK_TIME,
                state.scheduled_callback_time.as_ref().map(|s| &s.at),
            ),
            (stamp::DNC, state.dnc.as_ref().map(|s| &s.at)),
        ] {
            if let Some(at) = at {
                mark(name, at);
            }
        }
        let Counters {
            calls_initiated,
            calls_received,
            calls_ended,
            calls_transferred,
            keypresses,
        } = state.counters;
        Self {
            phone: state.phone.as_str().to_owned(),
            campaign_id: state.campaign_id.as_str().to_owned(),
            external_lead_id: value(&state.external_lead_id, |id| id.as_str().to_owned()),
            status: state.status().map(|s| s.as_str().to_owned()),
            last_event_type: Some(state.last_event.value.as_str().to_owned()),
            last_event_time: Some(state.last_event.at.time.to_rfc3339()),
            updated_at: Some(now.to_rfc3339()),
            last_call_type: value(&state.last_call_type, Clone::clone),
            last_call_result: value(&state.last_call_result, |r| r.as_str().to_owned()),
            last_keypress: value(&state.last_keypress, |k| k.as_char().to_string()),
            transferred_to: value(&state.transferred_to, |p| p.as_str().to_owned()),
            scheduled_callback_time: value(&state.scheduled_callback_time, |t| t.to_rfc3339()),
            calls_initiated: Some(calls_initiated),
            calls_received: Some(calls_received),
            calls_ended: Some(calls_ended),
            calls_transferred: Some(calls_transferred),
            keypresses: Some(keypresses),
            dnc: Some(state.dnc.is_some()),
            dnc_at: state.dnc.as_ref().map(|d| d.at.time.to_rfc3339()),
            dnc_reason: value(&state.dnc, |r| r.as_str().to_owned()),
            format_version: Some(FORMAT_VERSION),
            event_ids: Vec::new(),
            recent_events: state.recent.iter().map(order_key).collect(),
            event_horizon: state.horizon.as_ref().map(order_key),
            event_order: Some(event_order),
            version: Some(version),
            outbox: outbox
                .messages
                .iter()
                .map(|m| (m.id.clone(), m.clone()))
                .collect(),
            dnc_signals: outbox
                .dnc_signals
                .iter()
                .map(|s| (s.id().to_owned(), s.clone()))
                .collect(),
            outbox_version: (!outbox.is_empty()).then_some(version),
            ..Self::default()
        }
    }

    fn into_stored(self) -> Result<StoredLead, CorruptItem> {
        // Attribute name -> the order of the event that set it.
        let mut order: BTreeMap<&str, EventOrder> = BTreeMap::new();
        let event_order = self.event_order.as_ref().ok_or(CorruptItem("eventOrder"))?;
        for (key, names) in event_order {
            let at = parse_order_key(key).ok_or(CorruptItem("eventOrder"))?;
            for name in names {
                order.insert(name, at.clone());
            }
        }
        let order = &order;
        // A "latest" attribute and the order of the event that set it.
        fn stamped<T>(
            name: &'static str,
            order: &BTreeMap<&str, EventOrder>,
            value: Option<String>,
            parse: impl FnOnce(&str) -> Option<T>,
        ) -> Result<Option<Stamped<T>>, CorruptItem> {
            let Some(raw) = value else { return Ok(None) };
            let at = order.get(name).cloned().ok_or(CorruptItem(name))?;
            let value = parse(&raw).ok_or(CorruptItem(name))?;
            Ok(Some(Stamped { at, value }))
        }
        let decided_status = match self.status.as_deref() {
            Some("dnc") | None => None,
            Some(_) => stamped(stamp::STATUS, order, self.status.clone(), Status::parse)?,
        };
        let last_event_at = order
            .get(stamp::LAST_EVENT)
            .cloned()
            .ok_or(CorruptItem("eventOrder"))?;
        let last_event_type = self
            .last_event_type
            .as_deref()
            .and_then(EventType::from_wire)
            .ok_or(CorruptItem("lastEventType"))?;
        let count = |value: Option<u64>, name| value.ok_or(CorruptItem(name));
        let dnc = self.dnc.ok_or(CorruptItem("dnc"))?;
        let state = LeadState {
            campaign_id: CampaignId::parse(&self.campaign_id)
                .map_err(|_| CorruptItem("campaignId"))?,
            phone: Phone::parse(&self.phone).map_err(|_| CorruptItem("phone"))?,
            external_lead_id: stamped(
                stamp::EXTERNAL_LEAD_ID,
                order,
                self.external_lead_id,
                |s| {
                    ExternalLeadId::parse_optional(Some(s.to_owned()))
                        .ok()
                        .flatten()
                },
            )?,
            last_event: Stamped {
                at: last_event_at,
                value: last_event_type,
            },
            decided_status,
            last_call_type: stamped(stamp::LAST_CALL_TYPE, order, self.last_call_type, |s| {
                Some(s.to_owned())
            })?,
            last_call_result: stamped(
                stamp::LAST_CALL_RESULT,
                order,
                self.last_call_result,
                |s| CallResult::parse(s).ok(),
            )?,
            last_keypress: stamped(stamp::LAST_KEYPRESS, order, self.last_keypress, |s| {
                DtmfKey::parse(s).ok()
            })?,
            transferred_to: stamped(stamp::TRANSFERRED_TO, order, self.transferred_to, |s| {
                Phone::parse(s).ok()
            })?,
            scheduled_callback_time: stamped(
                stamp::SCHEDULED_CALLBACK_TIME,
                order,
                self.scheduled_callback_time,
                |s| Timestamp::parse(s).ok(),
            )?,
            counters: Counters {
                calls_initiated: count(self.calls_initiated, "callsInitiated")?,
                calls_received: count(self.calls_received, "callsReceived")?,
                calls_ended: count(self.calls_ended, "callsEnded")?,
                calls_transferred: count(self.calls_transferred, "callsTransferred")?,
                keypresses: count(self.keypresses, "keypresses")?,
            },
            dnc: match dnc {
                true => stamped(stamp::DNC, order, self.dnc_reason, |s| {
                    DncReason::ALL.into_iter().find(|r| r.as_str() == s)
                })?,
                false => None,
            },
            recent: recent_events(&self.recent_events, self.event_ids)?,
            horizon: self
                .event_horizon
                .as_deref()
                .map(|key| parse_order_key(key).ok_or(CorruptItem("eventHorizon")))
                .transpose()?,
        };
        if dnc && state.dnc.is_none() {
            return Err(CorruptItem("dncReason"));
        }
        let unsent = match self.outbox_version {
            Some(_) => Decided::default(),
            None => Decided {
                messages: self.outbox.into_values().collect(),
                ..Decided::default()
            },
        };
        Ok(StoredLead {
            state,
            version: self.version.ok_or(CorruptItem("version"))?,
            unsent,
        })
    }
}

/// A quarantine record as an item of the lead table. The key is a digest of the record,
/// under a prefix no phone has; DynamoDB's time to live removes it once the quarantine
/// queue would have dropped it too.
pub fn quarantine_item(
    record: &QuarantineRecord,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let received_at = Timestamp::parse(&record.received_at)
        .map(|t| t.to_unix_parts().0)
        .unwrap_or_default();
    serde_dynamo::to_item(TableItem {
        phone: format!(
            "{QUARANTINE_PREFIX}{}",
            short_digest(&[&record.received_at, &record.reason, &record.body])
        ),
        campaign_id: "quarantine".to_owned(),
        quarantine: Some(record.clone()),
        expires_at: Some(received_at + QUARANTINE_KEPT_SECONDS),
        ..TableItem::default()
    })
}

/// The largest item DynamoDB stores: 400 KB, names and values together.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An item's size as DynamoDB counts it (attribute names and values; 3 bytes for each map
/// or list; numbers counted at their text length, a little over DynamoDB's own count).
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::M(m) => {
                3 + m
                    .iter()
                    .map(|(k, v)| k.len() + value_size(v))
                    .sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(String::len).sum(),
            AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
            _ => 0,
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// The sort-key prefix of a DNC signal kept without a lead (no campaign can take `#`).
pub const SIGNAL_SORT_KEY_PREFIX: &str = "#dnc-signal#";

/// A DNC signal kept without a lead, as an item of the lead table: under its phone, so
/// that it shares the stream shard of the phone's leads; keyed by its event id, so that a
/// redelivery finds it there.
pub fn signal_item(
    record: &DncSignalRecord,
    now: Timestamp,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let (phone, campaign_id) = signal_key(record);
    serde_dynamo::to_item(TableItem {
        phone,
        campaign_id,
        version: Some(1),
        dnc_signals: BTreeMap::from([(record.id().to_owned(), record.clone())]),
        outbox_version: Some(1),
        expires_at: Some(now.to_unix_parts().0 + QUARANTINE_KEPT_SECONDS),
        ..TableItem::default()
    })
}

/// The key (`phone`, `campaignId`) of a signal kept without a lead.
pub fn signal_key(record: &DncSignalRecord) -> (String, String) {
    (
        record.phone().as_str().to_owned(),
        format!("{SIGNAL_SORT_KEY_PREFIX}{}", record.id()),
    )
}

/// The partition key of what the relay parked in the table (no phone starts with `#`).
pub const PARKED_PARTITION: &str = "#relay";

/// What the relay could not send anywhere else, as an item of the lead table: all under
/// one partition, [`PARKED_PARTITION`], sorted by kind and time, so one Query lists them
/// (docs/operating.md). No expiry: a person removes an item once it is handled. The
/// relay's stream filter, and the relay itself, pass over these items (they decide nothing).
pub fn parked_item(
    parked: &Parked,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    serde_dynamo::to_item(TableItem {
        phone: PARKED_PARTITION.to_owned(),
        campaign_id: format!(
            "{}#{}#{}",
            parked.kind,
            parked.at,
            short_digest(&[&parked.reason, &parked.body])
        ),
        kind: Some(parked.kind.to_owned()),
        parked_at: Some(parked.at.clone()),
        reason: Some(parked.reason.clone()),
        body: Some(parked.body.clone()),
        ..TableItem::default()
    })
}

/// What the write that produced `new_image` decided. An outbox carried unchanged from an
/// earlier write (its `outboxVersion` is not the item's `version`) was sent for that write.
/// An item of the first format (no `outboxVersion`) decided nothing the relay sends: its
/// messages go out with the next write, which carries them over.
pub fn committed(new_image: serde_dynamo::Item) -> Result<Decided, serde_dynamo::Error> {
    let view: DecidedAttributes = serde_dynamo::from_item(new_image)?;
    let decided_by_this_write =
        view.outbox_version.is_some() && view.outbox_version == view.version;
    if !decided_by_this_write {
        return Ok(Decided {
            quarantine: view.quarantine,
            ..Decided::default()
        });
    }
    Ok(Decided {
        messages: view.outbox.into_values().collect(),
        dnc_signals: view.dnc_signals.into_values().collect(),
        quarantine: view.quarantine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lead::{Decision, decide};
    use crate::core::wire::{Inbound, parse_body};

    fn apply(state: Option<LeadState>, event_type: &str, time: &str, data: &str) -> LeadState {
        let body = format!(
            r#"{{"metadata":{{"eventType":"{event_type}","campaignId":"camp","eventTime":"{time}"}},"data":{{"phone":"+1234567890",{data}}}}}"#
        );
        let Ok(Inbound::Call(event)) = parse_body(body.as_bytes()) else {
            panic!("bad test event")
        };
        match decide(state.as_ref(), &event, &event.id()) {
            Decision::Applied(applied) => applied.state,
            Decision::Duplicate => panic!("duplicate"),
        }
    }

    fn round_trip(state: &LeadState) -> LeadState {
        let item = TableItem::from_state(state, &Decided::default(), 3, Timestamp::now());
        let attributes: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(item).unwrap();
        let item: TableItem = serde_dynamo::from_item(attributes).unwrap();
        item.into_stored().unwrap().state
    }

    #[test]
    fn the_relays_projection_reads_only_attributes_the_item_writes() {
        let record = QuarantineRecord::new("2024-01-28T12:00:00.000Z".to_owned(), "r", b"{}");
        let full = DecidedAttributes {
            version: Some(1),
            outbox: BTreeMap::from([(
                "m".to_owned(),
                QueueMessage {
                    queue: crate::core::messages::Queue::Callback,
                    id: "m".into(),
                    message_type: "callback.scheduled".into(),
                    campaign_id: None,
                    group: "+1234567890".into(),
                    body: "{}".into(),
                },
            )]),
            dnc_signals: BTreeMap::new(),
            outbox_version: Some(1),
            quarantine: Some(record.clone()),
        };
        let projection: HashMap<String, AttributeValue> = serde_dynamo::to_item(&full).unwrap();
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(TableItem {
            version: full.version,
            outbox: full.outbox.clone(),
            dnc_signals: full.dnc_signals.clone(),
            outbox_version: full.outbox_version,
            quarantine: full.quarantine.clone(),
            ..TableItem::default()
        })
        .unwrap();
        for name in projection.keys() {
            assert_eq!(projection.get(name), item.get(name), "{name}");
        }
        // A lead item damaged elsewhere is still read by the relay.
        let mut damaged = item.clone();
        damaged.insert("status".into(), AttributeValue::N("12".into()));
        assert!(committed(damaged.into()).is_ok());
    }

    #[test]
    fn lead_state_survives_the_item_round_trip() {
        let mut state = apply(
            None,
            "lead.call_initiated",
            "2024-01-28T12:00:00.123456789Z",
            r#""externalLeadId":"abc123""#,
        );
        state = apply(
            Some(state),
            "lead.call_key_pressed",
            "2024-01-28T12:01:00Z",
            r#""callType":"inbound","keypressNumber":"5""#,
        );
        state = apply(
            Some(state),
            "lead.call_transferred",
            "2024-01-28T12:02:00Z",
            r#""callType":"outbound","transferredTo":"+1987654321""#,
        );
        state = apply(
            Some(state),
            "lead.call_scheduled",
            "2024-01-28T12:03:00Z",
            r#""scheduledTime":"2024-01-29T10:00:00.000Z""#,
        );
        state = apply(
            Some(state),
            "lead.call_ended",
            "2024-01-28T12:04:00Z",
            r#""callType":"inbound","callResult":"no_response""#,
        );
        assert_eq!(round_trip(&state), state);
        state = apply(
            Some(state),
            "lead.call_key_pressed",
            "2024-01-28T12:05:00Z",
            r#""callType":"inbound","keypressNumber":"9""#,
        );
        assert_eq!(round_trip(&state), state);
    }

    #[test]
    fn item_attributes_are_named_as_the_contract_says() {
        let state = apply(
            None,
            "lead.call_ended",
            "2024-01-28T12:05:00+01:00",
            r#""externalLeadId":"abc123","callType":"inbound","callResult":"dnc""#,
        );
        let item: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(
            TableItem::from_state(&state, &Decided::default(), 1, Timestamp::now()),
        )
        .unwrap();
        let s = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let n = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).cloned();
        assert_eq!(s("phone").as_deref(), Some("+1234567890"));
        assert_eq!(s("campaignId").as_deref(), Some("camp"));
        assert_eq!(s("externalLeadId").as_deref(), Some("abc123"));
        assert_eq!(s("status").as_deref(), Some("dnc"));
        assert_eq!(s("lastEventType").as_deref(), Some("lead.call_ended"));
        assert_eq!(
            s("lastEventTime").as_deref(),
            Some("2024-01-28T11:05:00.000Z")
        );
        assert_eq!(s("lastCallType").as_deref(), Some("inbound"));
        assert_eq!(s("lastCallResult").as_deref(), Some("dnc"));
        assert_eq!(item.get("dnc").and_then(|v| v.as_bool().ok()), Some(&true));
        assert_eq!(s("dncAt").as_deref(), Some("2024-01-28T11:05:00.000Z"));
        assert_eq!(s("dncReason").as_deref(), Some("call_result_dnc"));
        assert_eq!(n("callsEnded").as_deref(), Some("1"));
        assert_eq!(n("callsInitiated").as_deref(), Some("0"));
        assert_eq!(n("version").as_deref(), Some("1"));
        assert!(s("updatedAt").is_some());
    }

    #[test]
    fn unknown_external_lead_id_is_absent_so_the_index_stays_sparse() {
        let state = apply(
            None,
            "lead.call_received",
            "2024-01-28T12:00:00Z",
            r#""externalLeadId":null"#,
        );
        let item: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(
            TableItem::from_state(&state, &Decided::default(), 1, Timestamp::now()),
        )
        .unwrap();
        assert!(!item.contains_key("externalLeadId"));
        assert!(!item.contains_key("transferredTo"));
    }
}
