//! A lead item's outbox: what each write decided for the relay, kept in the item until the
//! relay confirms it (docs/architecture.md, "No signal waits on the stream alone").
//!
//! - `relayOutbox` (M): one entry per write that decided messages or DNC signals, under
//!   that write's version: `{messages, dncSignals, since}`. A write adds its own entry and
//!   leaves the others as they are (an UpdateItem, [`lead_update`]); nothing is carried
//!   from one write to the next, so the webhook never re-reads what the relay confirmed.
//! - `dncBodies` (M): the evidence bodies of the entries' DNC signals, by signal id, apart
//!   from the entries so that a write can drop one without knowing whether its entry is
//!   still there. At most one: the earliest signal's ([`hold_one_body`]).
//! - `relayEntry` (N): the version whose entry this write added (absent when it added
//!   none): what the relay's stream filter and [`committed`] look for.
//! - `relayPending`, `relayPendingSince`: the item in the index of writes the relay has not
//!   confirmed ([`RELAY_INDEX`]), since its oldest entry.
//!
//! Both maps, once made, stay (a write can add to a map only if it is there, and the
//! webhook knows it is without reading). The relay's confirmation ([`confirmations`])
//! removes the entries it relayed and their bodies, never moves `version`, and takes the
//! item out of the index when no entry is left.
//!
//! An earlier release kept one write's outbox in `outbox`, `dncSignals` and `outboxVersion`
//! (confirmed by removing them); those are still read, and the next write of this release
//! takes them into its own entry.

use super::update::{Condition, Path, Update, Value, path};
use super::*;
use crate::core::decided::{Confirms, HeldBody, RelayMark, is_bodiless};
use crate::ports::{HeldForRelay, LeadWrite};
use call_events_messages::SignalEvidence;

pub const RELAY_OUTBOX: &str = "relayOutbox";
pub const DNC_BODIES: &str = "dncBodies";
pub const RELAY_ENTRY: &str = "relayEntry";
/// When the relay forwarded a quarantined body (its item's confirmation).
pub const QUARANTINE_FORWARDED: &str = "quarantineForwarded";

/// One write's entry in `relayOutbox`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OutboxEntry {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) messages: BTreeMap<String, QueueMessage>,
    /// Each signal's evidence without its body (kept in `dncBodies`, if at all).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) dnc_signals: BTreeMap<String, DncSignalRecord>,
    /// When the write decided it (RFC 3339).
    pub(super) since: String,
}

/// An evidence body in `dncBodies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeptBody {
    pub(super) body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) body_base64: Option<String>,
}

/// The lead attributes a write of this release sets, and those an earlier format wrote:
/// each one the new item lacks is removed, so the item is exactly the state written (as a
/// whole put would leave it), with the relay's own attributes untouched.
pub(super) const LEAD_ATTRIBUTES: [&str; 27] = [
    "externalLeadId",
    "status",
    "lastEventType",
    "lastEventTime",
    "updatedAt",
    "lastCallType",
    "lastCallResult",
    "lastKeypress",
    "transferredTo",
    "scheduledCallbackTime",
    "callsInitiated",
    "callsReceived",
    "callsEnded",
    "callsTransferred",
    "keypresses",
    "dnc",
    "dncAt",
    "dncReason",
    "formatVersion",
    "eventIds",
    "recentEvents",
    "eventHorizon",
    "eventOrder",
    "outbox",
    "dncSignals",
    "outboxVersion",
    RELAY_ENTRY,
];

fn entry_key(version: u64) -> String {
    version.to_string()
}

/// The entry a write adds, and the bodies it keeps apart.
fn entry_of(decided: &Decided, since: Timestamp) -> (OutboxEntry, BTreeMap<String, KeptBody>) {
    let mut bodies = BTreeMap::new();
    let dnc_signals = decided
        .dnc_signals
        .iter()
        .map(|signal| {
            let mut signal = signal.clone();
            let id = signal.id().to_owned();
            if let SignalEvidence::Signed(evidence) = &mut signal.evidence
                && !is_bodiless(evidence)
            {
                bodies.insert(
                    id,
                    KeptBody {
                        body: std::mem::take(&mut evidence.body),
                        body_base64: evidence.body_base64.take(),
                    },
                );
            }
            (signal.id().to_owned(), signal)
        })
        .collect();
    let messages = decided
        .messages
        .iter()
        .map(|m| (m.id.clone(), m.clone()))
        .collect();
    let entry = OutboxEntry {
        messages,
        dnc_signals,
        since: since.to_rfc3339(),
    };
    (entry, bodies)
}

fn attribute<T: Serialize>(value: &T) -> Result<AttributeValue, serde_dynamo::Error> {
    serde_dynamo::to_attribute_value(value)
}

/// The webhook's write of a lead at `version`: the state (every lead attribute set, or
/// removed when the state has none; after a state the item is known to hold, only what
/// changed), and the write's entry added to the outbox with its body; conditioned on the
/// version it expects.
pub fn lead_update(
    write: &LeadWrite<'_>,
    version: u64,
    now: Timestamp,
    write_id: &str,
) -> Result<Update, serde_dynamo::Error> {
    let whole = TableItem::from_state(write.state, version, now);
    let adds = !write.decided.messages.is_empty() || !write.decided.dnc_signals.is_empty();
    let mut update = Update::default();
    let item = match write.previous {
        Some(previous) => {
            let (changed, gone) = whole.changed_since(previous, write.state);
            update
                .remove
                .extend(gone.into_iter().map(|name| path(&[name])));
            if !adds {
                update.remove.push(path(&[RELAY_ENTRY]));
            }
            serde_dynamo::to_item(changed)?
        }
        None => {
            let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(whole)?;
            // What a whole put of the state would leave out (and nothing this update
            // sets: a path set and removed at once is refused).
            for name in LEAD_ATTRIBUTES {
                let set_here = item.contains_key(name) || (adds && name == RELAY_ENTRY);
                if !set_here {
                    update.remove.push(path(&[name]));
                }
            }
            item
        }
    };
    let item = stamped(item, write_id);
    update.set.reserve(item.len() + 6);
    for (name, value) in item {
        if name != PARTITION_KEY && name != SORT_KEY {
            update.set.push((vec![name], Value::Is(value)));
        }
    }
    if adds {
        let (entry, bodies) = entry_of(write.decided, write.since);
        let key = entry_key(version);
        if write.held.has_outbox {
            update
                .set
                .push((path(&[RELAY_OUTBOX, &key]), Value::Is(attribute(&entry)?)));
            for (id, body) in &bodies {
                update
                    .set
                    .push((path(&[DNC_BODIES, id]), Value::Is(attribute(body)?)));
            }
        } else {
            let entries = BTreeMap::from([(key, entry)]);
            update
                .set
                .push((path(&[RELAY_OUTBOX]), Value::Is(attribute(&entries)?)));
            update
                .set
                .push((path(&[DNC_BODIES]), Value::Is(attribute(&bodies)?)));
        }
        let shard = AttributeValue::S(relay_key(write.state.phone.as_str()));
        let since = AttributeValue::S(write.since.min(now).to_rfc3339());
        update.set.extend([
            (
                path(&[RELAY_ENTRY]),
                Value::Is(AttributeValue::N(version.to_string())),
            ),
            (path(&[RELAY_PENDING]), Value::Is(shard)),
            (path(&[RELAY_PENDING_SINCE]), Value::IfAbsent(since)),
        ]);
    }
    if let Some(dropped) = write.drops_body
        && write.held.has_outbox
    {
        update.remove.push(path(&[DNC_BODIES, dropped]));
    }
    update.condition = Some(match write.expected_version {
        None => Condition::Absent(path(&[PARTITION_KEY])),
        Some(v) => Condition::Equals(path(&[VERSION]), AttributeValue::N(v.to_string())),
    });
    Ok(update)
}

/// A signal with its body back from `dncBodies`, if the item holds it.
fn with_body(mut signal: DncSignalRecord, bodies: &BTreeMap<String, KeptBody>) -> DncSignalRecord {
    let kept = bodies.get(signal.id());
    if let (SignalEvidence::Signed(evidence), Some(kept)) = (&mut signal.evidence, kept) {
        evidence.body = kept.body.clone();
        evidence.body_base64 = kept.body_base64.clone();
    }
    signal
}

/// What the relay reads of an item's outbox: its entries as stored (each decoded only
/// when relayed, so an entry another writer damaged stops only its own relay), and the
/// bodies.
pub(super) struct Outbox<'a> {
    pub(super) entries: &'a BTreeMap<String, serde_json::Value>,
    pub(super) bodies: &'a BTreeMap<String, KeptBody>,
}

fn since_of(entry: &serde_json::Value) -> Option<String> {
    entry.get("since")?.as_str().map(str::to_owned)
}

impl Outbox<'_> {
    /// The entries of `versions` as one [`Decided`] (messages and signals in id order,
    /// bodies put back), and the mark that confirms them.
    pub(super) fn decided(
        &self,
        phone: &str,
        sort_key: &str,
        versions: &[String],
    ) -> Result<Decided, serde_dynamo::Error> {
        let mut messages = BTreeMap::new();
        let mut signals = BTreeMap::new();
        let mut bodies = Vec::new();
        for key in versions {
            let Some(entry) = self.entries.get(key) else {
                continue;
            };
            let entry: OutboxEntry = serde_json::from_value(entry.clone()).map_err(|e| {
                <serde_dynamo::Error as serde::de::Error>::custom(format!(
                    "relayOutbox entry {key}: {e}"
                ))
            })?;
            messages.extend(entry.messages);
            for (id, signal) in entry.dnc_signals {
                bodies.push(id.clone());
                signals.insert(id, with_body(signal, self.bodies));
            }
        }
        let others_since = self
            .entries
            .iter()
            .filter(|(key, _)| !versions.contains(key))
            .filter_map(|(_, entry)| since_of(entry))
            .min();
        let versions = versions.iter().filter_map(|v| v.parse().ok()).collect();
        Ok(Decided {
            messages: messages.into_values().collect(),
            dnc_signals: signals.into_values().collect(),
            quarantine: None,
            relay_mark: Some(RelayMark {
                phone: phone.to_owned(),
                sort_key: sort_key.to_owned(),
                confirms: Confirms::Entries {
                    versions,
                    bodies,
                    others_since,
                },
            }),
        })
    }

    /// The entries decided at `before` or earlier (the sweep's); an entry that does not say
    /// when is due.
    pub(super) fn decided_by(&self, before: &str) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, entry)| since_of(entry).is_none_or(|since| since.as_str() <= before))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

/// What the webhook must know of an item's outbox: that it is there, and which signal's
/// body it holds (the earliest of the entries' signals whose body is kept).
pub(super) fn held(
    entries: Option<&BTreeMap<String, OutboxEntry>>,
    bodies: Option<&BTreeMap<String, KeptBody>>,
) -> HeldForRelay {
    let body = match (entries, bodies) {
        (Some(entries), Some(bodies)) => entries
            .values()
            .flat_map(|entry| entry.dnc_signals.values())
            .filter(|signal| bodies.contains_key(signal.id()))
            .map(|signal| {
                let (at, id) = signal.order();
                HeldBody {
                    at,
                    id: id.to_owned(),
                }
            })
            .min_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id))),
        _ => None,
    };
    HeldForRelay {
        has_outbox: entries.is_some(),
        body,
        ..HeldForRelay::default()
    }
}

/// The relay's confirmation of `mark`, as updates to try in turn until one's condition
/// holds: none holding means the item no longer holds what the mark names.
///
/// Entries: 1. they are all that is left: take them, their bodies and the index mark out;
/// 2. others wait: take them and their bodies out, and move the mark's age on to the
/// oldest other (as the relay saw them; `now` when it saw none, for an entry added since);
/// 3. the mark is gone already: take them and their bodies out. An earlier release's
/// outbox: take it and the mark out if it is still that version's.
pub fn confirmations(mark: &RelayMark, now: Timestamp) -> Vec<Update> {
    match &mark.confirms {
        Confirms::Entries {
            versions,
            bodies,
            others_since,
        } => {
            let mut taken: Vec<Path> = versions
                .iter()
                .map(|v| path(&[RELAY_OUTBOX, &entry_key(*v)]))
                .collect();
            taken.extend(bodies.iter().map(|id| path(&[DNC_BODIES, id])));
            // Its own stream record passes no filter and decides nothing.
            taken.push(path(&[RELAY_ENTRY]));
            let outbox = Condition::Exists(path(&[RELAY_OUTBOX]));
            let mut all = taken.clone();
            all.extend([path(&[RELAY_PENDING]), path(&[RELAY_PENDING_SINCE])]);
            let mut only_these = vec![
                outbox.clone(),
                Condition::SizeIs(path(&[RELAY_OUTBOX]), versions.len()),
            ];
            only_these.extend(
                versions
                    .iter()
                    .map(|v| Condition::Exists(path(&[RELAY_OUTBOX, &entry_key(*v)]))),
            );
            let since = others_since.clone().unwrap_or_else(|| now.to_rfc3339());
            vec![
                Update {
                    set: vec![],
                    remove: all,
                    condition: Some(Condition::All(only_these)),
                },
                Update {
                    set: vec![(
                        path(&[RELAY_PENDING_SINCE]),
                        Value::Is(AttributeValue::S(since)),
                    )],
                    remove: taken.clone(),
                    condition: Some(Condition::All(vec![
                        outbox.clone(),
                        Condition::Exists(path(&[RELAY_PENDING])),
                    ])),
                },
                Update {
                    set: vec![],
                    remove: taken,
                    condition: Some(outbox),
                },
            ]
        }
        Confirms::Quarantine => vec![Update {
            set: vec![(
                path(&[QUARANTINE_FORWARDED]),
                Value::Is(AttributeValue::S(now.to_rfc3339())),
            )],
            remove: vec![path(&[RELAY_PENDING]), path(&[RELAY_PENDING_SINCE])],
            condition: Some(Condition::Exists(path(&[RELAY_PENDING]))),
        }],
        Confirms::Mark => vec![Update {
            set: vec![],
            remove: vec![path(&[RELAY_PENDING]), path(&[RELAY_PENDING_SINCE])],
            condition: Some(Condition::All(vec![
                Condition::Absent(path(&[RELAY_OUTBOX])),
                Condition::Absent(path(&["outboxVersion"])),
            ])),
        }],
        Confirms::Legacy { outbox_version } => vec![Update {
            set: vec![],
            remove: [
                "outbox",
                "dncSignals",
                "outboxVersion",
                RELAY_PENDING,
                RELAY_PENDING_SINCE,
            ]
            .iter()
            .map(|name| path(&[name]))
            .collect(),
            condition: Some(Condition::Equals(
                path(&["outboxVersion"]),
                AttributeValue::N(outbox_version.to_string()),
            )),
        }],
    }
}
