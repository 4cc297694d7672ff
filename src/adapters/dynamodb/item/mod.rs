//! The lead table's items, as the contract names their attributes (docs/contract.md §4),
//! plus the function's own: `formatVersion`, `recentEvents` and `eventHorizon` (duplicate
//! detection, bounded: see [`crate::core::lead::RECENT_EVENTS`]), `eventOrder` (which event
//! set each "latest" attribute), and `outbox`, `dncSignals` with `outboxVersion`: what the
//! write of that version decided, which the relay reads from the stream's new image.
//!
//! Formats: 1 (the first release; no `formatVersion`) kept every event id in `eventIds` and
//! unsent messages in `outbox`; 2 (this one) keeps order keys of the latest events. Both
//! are read; only 2 is written. `tests/item_formats.rs` reads a fixture of each.
//!
//! The same table holds a few items that are not leads, so that what they decided reaches
//! the relay through the same stream (docs/contract.md §4: lead items are exactly those
//! whose `phone` starts with `+` and whose `campaignId` does not start with `#`):
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

mod decided;
mod lead;
mod not_leads;
mod outbox;
mod relay_index;
mod size;
pub mod update;
mod versioned;
mod write_id;

pub use decided::{committed, waiting_now};
pub use lead::{CorruptItem, lead_item, lead_key, stored_lead};
pub use not_leads::{
    PARKED_PARTITION, SIGNAL_SORT_KEY_PREFIX, parked_item, quarantine_item, signal_item, signal_key,
};
pub use outbox::{
    DNC_BODIES, QUARANTINE_FORWARDED, RELAY_ENTRY, RELAY_OUTBOX, confirmations, lead_update,
};
pub use relay_index::{
    RELAY_INDEX, RELAY_PENDING, RELAY_PENDING_SINCE, RELAY_SHARDS, relay_key, relay_keys, shard_of,
};
pub use size::{MAX_ITEM_BYTES, item_size};
pub use versioned::{version_condition, version_condition_holds, versioned};
pub use write_id::{WRITE_ID, new_write_id, stamped, written_by};

/// The item format this code writes.
pub const FORMAT_VERSION: u64 = 2;

pub const PARTITION_KEY: &str = "phone";
pub const SORT_KEY: &str = "campaignId";
/// The attribute of optimistic concurrency, on lead items and register entries alike.
pub const VERSION: &str = "version";

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
    /// An earlier release's outbox (see [`outbox`]): the messages decided by the write of
    /// `outboxVersion`, by id. Items of the first format had an outbox without
    /// `outboxVersion`: messages not yet confirmed sent, which the next write takes over.
    /// A signal kept without a lead still writes its signal here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    outbox: BTreeMap<String, QueueMessage>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dnc_signals: BTreeMap<String, DncSignalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_version: Option<u64>,
    /// The outbox of this release: one entry per write the relay has not confirmed, and
    /// the one evidence body they keep ([`outbox`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_outbox: Option<BTreeMap<String, outbox::OutboxEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dnc_bodies: Option<BTreeMap<String, outbox::KeptBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_entry: Option<u64>,
    /// The index of writes the relay has not confirmed ([`RELAY_INDEX`]): present while
    /// an entry of the outbox waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_pending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_pending_since: Option<String>,
    /// Which write call put the item ([`WRITE_ID`], set by the adapters as they write):
    /// leads and signals kept without a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    write_id: Option<String>,
    /// A body kept for replay, which the relay forwards to the quarantine queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine: Option<QuarantineRecord>,
    /// When the relay forwarded it (a quarantine item of this release waits in the relay's
    /// index until then; one of an earlier release has neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine_forwarded: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::decided::DecidedAttributes;
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
        let item = TableItem::from_state(state, 3, Timestamp::now());
        let attributes: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(item).unwrap();
        let item: TableItem = serde_dynamo::from_item(attributes).unwrap();
        item.into_stored().unwrap().state
    }

    #[test]
    fn the_relays_projection_reads_only_attributes_the_item_writes() {
        let record = QuarantineRecord::new("2024-01-28T12:00:00.000Z".to_owned(), "r", b"{}");
        let full = DecidedAttributes {
            phone: "+1234567890".into(),
            campaign_id: "camp".into(),
            relay_pending: Some(relay_key("+1234567890")),
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
            relay_outbox: Some(BTreeMap::from([(
                "2".to_owned(),
                serde_json::json!({"since": "2024-01-28T12:00:00.000Z"}),
            )])),
            dnc_bodies: Some(BTreeMap::from([(
                "evt".to_owned(),
                outbox::KeptBody {
                    body: "{}".into(),
                    body_base64: None,
                },
            )])),
            relay_entry: Some(2),
            quarantine: Some(record.clone()),
            quarantine_forwarded: Some("2024-01-28T12:01:00.000Z".into()),
        };
        let projection: HashMap<String, AttributeValue> = serde_dynamo::to_item(&full).unwrap();
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(TableItem {
            phone: full.phone.clone(),
            campaign_id: full.campaign_id.clone(),
            relay_pending: full.relay_pending.clone(),
            version: full.version,
            outbox: full.outbox.clone(),
            dnc_signals: full.dnc_signals.clone(),
            outbox_version: full.outbox_version,
            relay_outbox: full.relay_outbox.as_ref().map(|entries| {
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::from_value(v.clone()).unwrap()))
                    .collect()
            }),
            dnc_bodies: full.dnc_bodies.clone(),
            relay_entry: full.relay_entry,
            quarantine: full.quarantine.clone(),
            quarantine_forwarded: full.quarantine_forwarded.clone(),
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
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(TableItem::from_state(&state, 1, Timestamp::now())).unwrap();
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
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(TableItem::from_state(&state, 1, Timestamp::now())).unwrap();
        assert!(!item.contains_key("externalLeadId"));
        assert!(!item.contains_key("transferredTo"));
    }
}
