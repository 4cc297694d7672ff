//! A lead's item: its key, the state written and read back through [`TableItem`], and the
//! order keys that keep it bounded.

use super::*;
use crate::ports::{HeldForRelay, LeadWrite};

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

/// The DynamoDB item a lead's first write makes: its state, and what this write decided
/// as its outbox entry, at `version`, written at `now` ([`lead_update`] on no item).
pub fn lead_item(
    state: &LeadState,
    decided: &Decided,
    version: u64,
    now: Timestamp,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let held = HeldForRelay::default();
    let write = LeadWrite {
        state,
        decided,
        drops_body: None,
        held: &held,
        since: now,
        expected_version: None,
        previous: None,
    };
    let update = lead_update(&write, version, now, &new_write_id())?;
    let key = lead_key(&state.campaign_id, &state.phone);
    update
        .apply(None, key)
        .map_err(|e| <serde_dynamo::Error as serde::ser::Error>::custom(e.to_string()))
}

/// A lead read back from its DynamoDB item.
pub fn stored_lead(item: HashMap<String, AttributeValue>) -> Result<StoredLead, BackendError> {
    let unreadable = "the stored lead item is unreadable";
    let item: TableItem = serde_dynamo::from_item(item)
        .map_err(|e| BackendError::permanent("reading the lead item", unreadable, e))?;
    item.into_stored()
        .map_err(|e| BackendError::permanent("reading the lead item", unreadable, e))
}

/// The names under which `eventOrder` records which event set each "latest" attribute:
/// the attributes' own names, and `lastEvent` for the lead's latest event.
pub(super) mod stamp {
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
    pub(super) fn from_state(state: &LeadState, version: u64, now: Timestamp) -> Self {
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
            ..Self::default()
        }
    }

    /// The item of `new` as a write after `old` sets it: the attributes `old` already
    /// wrote alike left out, and the names `old` wrote that `new` has no value for. The
    /// stamps (`eventOrder`), `updatedAt` and `version` are always written.
    pub(super) fn changed_since(
        mut self,
        old: &LeadState,
        new: &LeadState,
    ) -> (Self, Vec<&'static str>) {
        let mut gone = Vec::new();
        fn keep<T>(
            slot: &mut Option<T>,
            name: &'static str,
            same: bool,
            had: bool,
            gone: &mut Vec<&'static str>,
        ) {
            if same {
                *slot = None;
            } else if slot.is_none() && had {
                gone.push(name);
            }
        }
        fn value<T>(slot: &Option<Stamped<T>>) -> Option<&T> {
            slot.as_ref().map(|s| &s.value)
        }
        macro_rules! stamped {
            ($field:ident, $name:literal) => {
                keep(
                    &mut self.$field,
                    $name,
                    value(&old.$field) == value(&new.$field),
                    old.$field.is_some(),
                    &mut gone,
                )
            };
        }
        stamped!(external_lead_id, "externalLeadId");
        stamped!(last_call_type, "lastCallType");
        stamped!(last_call_result, "lastCallResult");
        stamped!(last_keypress, "lastKeypress");
        stamped!(transferred_to, "transferredTo");
        stamped!(scheduled_callback_time, "scheduledCallbackTime");
        let had_status = old.status().is_some();
        keep(
            &mut self.status,
            "status",
            old.status() == new.status(),
            had_status,
            &mut gone,
        );
        if old.last_event.value == new.last_event.value {
            self.last_event_type = None;
        }
        if old.last_event.at.time == new.last_event.at.time {
            self.last_event_time = None;
        }
        let (was, is) = (&old.counters, &new.counters);
        for (slot, same) in [
            (
                &mut self.calls_initiated,
                was.calls_initiated == is.calls_initiated,
            ),
            (
                &mut self.calls_received,
                was.calls_received == is.calls_received,
            ),
            (&mut self.calls_ended, was.calls_ended == is.calls_ended),
            (
                &mut self.calls_transferred,
                was.calls_transferred == is.calls_transferred,
            ),
            (&mut self.keypresses, was.keypresses == is.keypresses),
        ] {
            if same {
                *slot = None;
            }
        }
        if old.dnc.is_some() == new.dnc.is_some() {
            self.dnc = None;
        }
        let dnc_at = |s: &LeadState| s.dnc.as_ref().map(|d| d.at.time);
        keep(
            &mut self.dnc_at,
            "dncAt",
            dnc_at(old) == dnc_at(new),
            old.dnc.is_some(),
            &mut gone,
        );
        keep(
            &mut self.dnc_reason,
            "dncReason",
            value(&old.dnc) == value(&new.dnc),
            old.dnc.is_some(),
            &mut gone,
        );
        if old.recent == new.recent {
            self.recent_events = Vec::new();
        }
        keep(
            &mut self.event_horizon,
            "eventHorizon",
            old.horizon == new.horizon,
            old.horizon.is_some(),
            &mut gone,
        );
        self.format_version = None;
        (self, gone)
    }

    pub(super) fn into_stored(self) -> Result<StoredLead, CorruptItem> {
        let current_format = self.format_version == Some(FORMAT_VERSION)
            && self.event_ids.is_empty()
            && self.outbox.is_empty()
            && self.dnc_signals.is_empty()
            && self.outbox_version.is_none();
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
        // An earlier release's outbox, never confirmed, which the next write takes over:
        // the first format's (no `outboxVersion`), or one still in the relay's index.
        let mut relay = outbox::held(self.relay_outbox.as_ref(), self.dnc_bodies.as_ref());
        match (self.outbox_version, &self.relay_pending) {
            (None, _) => {
                relay.legacy = Decided {
                    messages: self.outbox.into_values().collect(),
                    ..Decided::default()
                };
            }
            (Some(_), Some(_)) => {
                relay.legacy = Decided {
                    messages: self.outbox.into_values().collect(),
                    dnc_signals: self.dnc_signals.into_values().collect(),
                    ..Decided::default()
                };
                relay.legacy_since = Some(
                    self.relay_pending_since
                        .as_deref()
                        .and_then(|since| Timestamp::parse(since).ok())
                        .ok_or(CorruptItem("relayPendingSince"))?,
                );
            }
            (Some(_), None) => {}
        }
        Ok(StoredLead {
            state,
            version: self.version.ok_or(CorruptItem("version"))?,
            relay,
            current_format,
        })
    }
}
