//! What a write decided, as the relay reads it from the stream's new image.

use super::outbox::{KeptBody, Outbox};
use super::*;
use crate::core::decided::{Confirms, RelayMark};

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
    /// An earlier release's outbox: the messages decided by the write of `outboxVersion`,
    /// by id (items of the first format had no `outboxVersion`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) outbox: BTreeMap<String, QueueMessage>,
    /// An earlier release's outbox: the DNC signals (with their evidence) decided by the
    /// write of `outboxVersion`, by event id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) dnc_signals: BTreeMap<String, DncSignalRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) outbox_version: Option<u64>,
    /// This release's outbox ([`super::outbox`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) relay_outbox: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) dnc_bodies: Option<BTreeMap<String, KeptBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) relay_entry: Option<u64>,
    /// A body kept for replay, which the relay forwards to the quarantine queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quarantine: Option<QuarantineRecord>,
    /// When the relay forwarded it (a quarantine item of this release waits in the relay's
    /// index until then; one of an earlier release has neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quarantine_forwarded: Option<String>,
    /// Present while the relay has not confirmed the outbox ([`RELAY_PENDING`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) relay_pending: Option<String>,
}

impl DecidedAttributes {
    fn outbox(&self) -> Option<Outbox<'_>> {
        static NO_BODIES: BTreeMap<String, KeptBody> = BTreeMap::new();
        Some(Outbox {
            entries: self.relay_outbox.as_ref()?,
            bodies: self.dnc_bodies.as_ref().unwrap_or(&NO_BODIES),
        })
    }

    /// An earlier release's outbox, with the mark that confirms it.
    fn legacy(self) -> Decided {
        let relay_mark = match (&self.relay_pending, self.outbox_version) {
            (Some(_), Some(outbox_version)) => Some(RelayMark {
                phone: self.phone,
                sort_key: self.campaign_id,
                confirms: Confirms::Legacy { outbox_version },
            }),
            _ => None,
        };
        Decided {
            messages: self.outbox.into_values().collect(),
            dnc_signals: self.dnc_signals.into_values().collect(),
            quarantine: self.quarantine,
            relay_mark,
        }
    }
}

/// What the write that produced `new_image` decided: the entry it added to the item's
/// outbox (`relayEntry` is its version), with the mark that confirms it. Entries of earlier
/// writes in the same image are theirs: their own records relay them, or the sweep does
/// (nothing is relayed twice for being still there). An earlier release's write decided
/// its `outbox` when `outboxVersion` is its version; an item of the first format (no
/// `outboxVersion`) decided nothing the relay sends: the next write takes it over.
pub fn committed(new_image: serde_dynamo::Item) -> Result<Decided, serde_dynamo::Error> {
    let view: DecidedAttributes = serde_dynamo::from_item(new_image)?;
    if let (Some(added), Some(outbox)) = (view.relay_entry, view.outbox())
        && view.version == Some(added)
    {
        let decided = outbox.decided(&view.phone, &view.campaign_id, &[added.to_string()])?;
        return Ok(Decided {
            quarantine: view.quarantine,
            ..decided
        });
    }
    if view.outbox_version.is_some() && view.outbox_version == view.version {
        return Ok(view.legacy());
    }
    Ok(view.quarantined())
}

impl DecidedAttributes {
    /// A quarantined body to forward: unless its item says it was (the record of the
    /// forward's own confirmation); with the mark that confirms it, if it waits for that.
    fn quarantined(self) -> Decided {
        let relay_mark =
            (self.quarantine.is_some() && self.relay_pending.is_some()).then(|| RelayMark {
                phone: self.phone.clone(),
                sort_key: self.campaign_id.clone(),
                confirms: Confirms::Quarantine,
            });
        Decided {
            quarantine: self
                .quarantine
                .filter(|_| self.quarantine_forwarded.is_none()),
            relay_mark,
            ..Decided::default()
        }
    }
}

/// What an item waiting in the relay's index holds for the relay now (the sweep's
/// reread): the entries decided at `before` or earlier, as one [`Decided`] whose mark
/// confirms them (and takes the item out of the index when they are all it holds); an
/// earlier release's outbox as its write decided it. `None`: the item no longer waits.
pub fn waiting_now(
    item: serde_dynamo::Item,
    before: Timestamp,
) -> Result<Option<Decided>, serde_dynamo::Error> {
    let view: DecidedAttributes = serde_dynamo::from_item(item)?;
    if view.relay_pending.is_none() {
        return Ok(None);
    }
    if view.outbox_version.is_some() {
        return Ok(Some(view.legacy()));
    }
    if view.quarantine.is_some() {
        return Ok(Some(view.quarantined()));
    }
    let Some(outbox) = view.outbox() else {
        // In the index with nothing in it: the mark alone is taken out.
        return Ok(Some(Decided {
            relay_mark: Some(RelayMark {
                phone: view.phone.clone(),
                sort_key: view.campaign_id.clone(),
                confirms: Confirms::Mark,
            }),
            ..Decided::default()
        }));
    };
    let due = outbox.decided_by(&before.to_rfc3339());
    outbox
        .decided(&view.phone, &view.campaign_id, &due)
        .map(Some)
}
