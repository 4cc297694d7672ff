//! What a write decided, as the relay reads it from the stream's new image.

use super::*;
use crate::core::decided::RelayMark;

/// The relay's projection of [`TableItem`]: the attributes that say what a write decided,
/// so an attribute another writer damaged elsewhere in a lead item does not stop the relay.
/// The same names as in `TableItem` (a test holds them to it); a projection rather than a
/// flattened part of `TableItem`, because serde's `flatten` made every write 1.5 µs dearer
/// (BENCHMARKS.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DecidedAttributes {
    /// The item's key, for the relay's confirmation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) phone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) campaign_id: String,
    /// Optimistic concurrency ([`VERSION`]): leads and signals kept without a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) version: Option<u64>,
    /// The messages decided by the write of `outboxVersion`, by id. Absent when that write
    /// decided none. Items of the first format had an outbox without `outboxVersion`:
    /// messages not yet confirmed sent, which the next write carries over.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) outbox: BTreeMap<String, QueueMessage>,
    /// The DNC signals (with their evidence) decided by the write of `outboxVersion`, by
    /// event id, for the register.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) dnc_signals: BTreeMap<String, DncSignalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) outbox_version: Option<u64>,
    /// A body kept for replay, which the relay forwards to the quarantine queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quarantine: Option<QuarantineRecord>,
    /// Present while the relay has not confirmed the outbox ([`RELAY_PENDING`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) relay_pending: Option<String>,
}

/// What the write that produced `new_image` decided. An outbox carried unchanged from an
/// earlier write (its `outboxVersion` is not the item's `version`) was sent for that write.
/// An item of the first format (no `outboxVersion`) decided nothing the relay sends: its
/// messages go out with the next write, which carries them over. An outbox the relay must
/// confirm comes with its [`RelayMark`]; one it confirmed is gone from the item.
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
    let relay_mark = match (view.relay_pending, view.version) {
        (Some(_), Some(version)) => Some(RelayMark {
            phone: view.phone,
            sort_key: view.campaign_id,
            version,
        }),
        _ => None,
    };
    Ok(Decided {
        messages: view.outbox.into_values().collect(),
        dnc_signals: view.dnc_signals.into_values().collect(),
        quarantine: view.quarantine,
        relay_mark,
    })
}
