//! The lead state rules: a pure function of (old state, event) to (new state, effects).
//!
//! Every field that "the latest event" decides is a last-writer-wins register stamped
//! with the [`EventOrder`] of the event that wrote it, and `dnc` keeps the earliest DNC
//! event. Counters count distinct event ids. So the state is a function of the SET of
//! events received: any delivery order, with any duplicates, gives the same state.
//!
//! The state is bounded whatever the history: it remembers the ids of the
//! [`RECENT_EVENTS`] latest events (by [`EventOrder`]) and a horizon, the latest event it
//! forgot. A delivery at or before the horizon that it does not remember is taken for a
//! redelivery (answered `duplicate`, nothing counted), except a DNC signal, which is
//! applied anyway: DNC is sticky and keeps the earliest event, so applying it again
//! changes nothing, and an old opt-out is never lost. Up to [`RECENT_EVENTS`] distinct
//! events the state is exactly a function of the set; past it, counters can miss an event
//! that arrives after 128 later ones of the same lead.

use std::collections::BTreeSet;

/// How many of a lead's latest events the state remembers by id.
pub const RECENT_EVENTS: usize = 128;

use crate::core::domain::{
    CallEvent, CallEventKind, CallResult, CampaignId, DtmfKey, EventId, EventType, ExternalLeadId,
    LegacyDncCreated, Phone, Timestamp,
};

/// Where an event stands among the events of one lead: by `eventTime`, then by the rank
/// of its type, then by its id. A total order, so "the latest" is always one event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventOrder {
    pub time: Timestamp,
    pub rank: u8,
    pub id: EventId,
}

impl EventOrder {
    pub fn of(event: &CallEvent, id: &EventId) -> Self {
        Self {
            time: event.event_time,
            rank: event.event_type().rank(),
            id: id.clone(),
        }
    }
}

/// A value together with the order of the event that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped<T> {
    pub at: EventOrder,
    pub value: T,
}

/// Keeps whichever of the current and the offered value comes from the later event.
fn keep_latest<T>(slot: &mut Option<Stamped<T>>, at: &EventOrder, value: T) {
    if slot.as_ref().is_none_or(|current| *at > current.at) {
        *slot = Some(Stamped {
            at: at.clone(),
            value,
        });
    }
}

/// Keeps whichever of the current and the offered value comes from the earlier event.
fn keep_earliest<T>(slot: &mut Option<Stamped<T>>, at: &EventOrder, value: T) {
    if slot.as_ref().is_none_or(|current| *at < current.at) {
        *slot = Some(Stamped {
            at: at.clone(),
            value,
        });
    }
}

macro_rules! labelled {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            pub fn parse(label: &str) -> Option<Self> {
                match label { $($label => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

labelled!(
    /// The lead's `status` attribute.
    Status {
        Calling => "calling",
        InCall => "in_call",
        Transferred => "transferred",
        CallbackScheduled => "callback_scheduled",
        Dnc => "dnc",
        RescheduleRequested => "reschedule_requested",
        NoResponse => "no_response",
        TransferRequested => "transfer_requested",
    }
);

/// Why a lead asked not to be called again: the message crate's type, which the queues and
/// the register carry, so there is one.
pub use call_events_messages::DncReason;

/// Counts of distinct events, by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub calls_initiated: u64,
    pub calls_received: u64,
    pub calls_ended: u64,
    pub calls_transferred: u64,
    pub keypresses: u64,
}

/// The call state of one lead in one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadState {
    pub campaign_id: CampaignId,
    pub phone: Phone,
    pub external_lead_id: Option<Stamped<ExternalLeadId>>,
    pub last_event: Stamped<EventType>,
    /// The status decided by the latest event that decides one; `None` once DNC.
    pub decided_status: Option<Stamped<Status>>,
    pub last_call_type: Option<Stamped<String>>,
    pub last_call_result: Option<Stamped<CallResult>>,
    pub last_keypress: Option<Stamped<DtmfKey>>,
    pub transferred_to: Option<Stamped<Phone>>,
    pub scheduled_callback_time: Option<Stamped<Timestamp>>,
    pub counters: Counters,
    /// The earliest DNC event, if any: DNC is sticky.
    pub dnc: Option<Stamped<DncReason>>,
    /// The latest [`RECENT_EVENTS`] distinct events, by order.
    pub recent: BTreeSet<EventOrder>,
    /// The latest event forgotten to keep the state bounded, if any.
    pub horizon: Option<EventOrder>,
}

impl LeadState {
    /// `None` until an event decides a status (only keys other than 1, 2, 9 were pressed).
    pub fn status(&self) -> Option<Status> {
        if self.dnc.is_some() {
            Some(Status::Dnc)
        } else {
            self.decided_status.as_ref().map(|s| s.value)
        }
    }

    pub fn is_dnc(&self) -> bool {
        self.dnc.is_some()
    }

    fn new(event: &CallEvent, at: &EventOrder) -> Self {
        Self {
            campaign_id: event.campaign_id.clone(),
            phone: event.phone.clone(),
            external_lead_id: None,
            last_event: Stamped {
                at: at.clone(),
                value: event.event_type(),
            },
            decided_status: None,
            last_call_type: None,
            last_call_result: None,
            last_keypress: None,
            transferred_to: None,
            scheduled_callback_time: None,
            counters: Counters::default(),
            dnc: None,
            recent: BTreeSet::new(),
            horizon: None,
        }
    }

    /// Folds one distinct event into the state.
    fn record(&mut self, event: &CallEvent, at: &EventOrder) {
        self.recent.insert(at.clone());
        // Every remembered event is later than the horizon (an earlier one is never added),
        // so the one forgotten is the new horizon.
        while self.recent.len() > RECENT_EVENTS {
            self.horizon = self.recent.pop_first();
        }
        if at > &self.last_event.at {
            self.last_event = Stamped {
                at: at.clone(),
                value: event.event_type(),
            };
        }
        if let Some(id) = &event.external_lead_id {
            keep_latest(&mut self.external_lead_id, at, id.clone());
        }
        let counters = &mut self.counters;
        let status = match &event.kind {
            CallEventKind::Initiated { .. } => {
                counters.calls_initiated += 1;
                Some(Status::Calling)
            }
            CallEventKind::Received => {
                counters.calls_received += 1;
                Some(Status::InCall)
            }
            CallEventKind::Scheduled { scheduled_time } => {
                keep_latest(&mut self.scheduled_callback_time, at, *scheduled_time);
                Some(Status::CallbackScheduled)
            }
            CallEventKind::Ended {
                call_type,
                call_result,
                ..
            } => {
                counters.calls_ended += 1;
                keep_latest(&mut self.last_call_type, at, call_type.as_str().to_owned());
                keep_latest(&mut self.last_call_result, at, *call_result);
                Some(match call_result {
                    CallResult::Transfer => Status::Transferred,
                    CallResult::Dnc => Status::Dnc,
                    CallResult::Reschedule => Status::RescheduleRequested,
                    CallResult::NoResponse => Status::NoResponse,
                })
            }
            CallEventKind::Transferred {
                transferred_to,
                call_type,
                ..
            } => {
                counters.calls_transferred += 1;
                keep_latest(&mut self.last_call_type, at, call_type.as_str().to_owned());
                keep_latest(&mut self.transferred_to, at, transferred_to.clone());
                Some(Status::Transferred)
            }
            CallEventKind::KeyPressed { call_type, key, .. } => {
                counters.keypresses += 1;
                keep_latest(&mut self.last_call_type, at, call_type.as_str().to_owned());
                keep_latest(&mut self.last_keypress, at, *key);
                match *key {
                    DtmfKey::TRANSFER => Some(Status::TransferRequested),
                    DtmfKey::RESCHEDULE => Some(Status::RescheduleRequested),
                    DtmfKey::REMOVE_FROM_LIST => Some(Status::Dnc),
                    _ => None,
                }
            }
            CallEventKind::DncCreated { .. } => Some(Status::Dnc),
        };
        if let Some(reason) = dnc_reason(&event.kind) {
            keep_earliest(&mut self.dnc, at, reason);
        }
        // DNC is sticky: once the lead is DNC no other status can ever show again.
        if self.dnc.is_some() {
            self.decided_status = None;
        } else if let Some(status) = status {
            keep_latest(&mut self.decided_status, at, status);
        }
    }
}

/// Where a DNC signal comes from: the event that carried it (its type follows from the
/// signal's reason), or, for an imported signal, the import (its time, and an `imp_` id
/// made from what the line said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSource {
    pub event_time: Timestamp,
    pub event_id: EventId,
}

/// Which event a message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub event_type: EventType,
    pub event_time: Timestamp,
    pub event_id: EventId,
}

/// A callback the lead asked for, for the callback service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// `callback-` + the hex of the event id: one message per distinct scheduling event.
    pub id: String,
    pub campaign_id: CampaignId,
    pub phone: Phone,
    pub external_lead_id: Option<ExternalLeadId>,
    pub scheduled_time: Timestamp,
    pub source: Source,
}

/// Why an event is a DNC signal, if it is one: key 9, `callResult: dnc`, `dnc.created`.
pub fn dnc_reason(kind: &CallEventKind) -> Option<DncReason> {
    match kind {
        CallEventKind::KeyPressed { key, .. } if *key == DtmfKey::REMOVE_FROM_LIST => {
            Some(DncReason::Keypress9)
        }
        CallEventKind::Ended {
            call_result: CallResult::Dnc,
            ..
        } => Some(DncReason::CallResultDnc),
        CallEventKind::DncCreated { .. } => Some(DncReason::DncCreated),
        _ => None,
    }
}

/// A signal that a phone must not be called again, for the company-wide DNC register,
/// which keeps the earliest one and decides the one `dnc.requested` per phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DncSignal {
    pub phone: Phone,
    /// The campaign the signal came from; none for a legacy (v1) `dnc.created`.
    pub campaign_id: Option<CampaignId>,
    pub external_lead_id: Option<ExternalLeadId>,
    pub reason: DncReason,
    /// When the number was put on the list: the event's `eventTime`, or its
    /// `dncTimestamp` for `dnc.created`.
    pub at: Timestamp,
    pub source: SignalSource,
}

impl DncSignal {
    /// The signal a lead event carries, if it is one (key 9, `callResult: dnc`,
    /// `dnc.created`), as the event alone says it.
    pub fn of_event(event: &CallEvent, id: &EventId) -> Option<Self> {
        let reason = dnc_reason(&event.kind)?;
        let at = match &event.kind {
            CallEventKind::DncCreated { dnc_timestamp } => *dnc_timestamp,
            _ => event.event_time,
        };
        Some(Self {
            phone: event.phone.clone(),
            campaign_id: Some(event.campaign_id.clone()),
            external_lead_id: event.external_lead_id.clone(),
            reason,
            at,
            source: SignalSource {
                event_time: event.event_time,
                event_id: id.clone(),
            },
        })
    }

    /// The signal of a legacy (v1) `dnc.created`, which belongs to no lead.
    pub fn legacy(event: &LegacyDncCreated) -> Self {
        Self {
            phone: event.phone.clone(),
            campaign_id: None,
            external_lead_id: event.external_lead_id.clone(),
            reason: DncReason::DncCreated,
            at: event.dnc_timestamp,
            source: SignalSource {
                event_time: event.dnc_timestamp,
                event_id: event.id(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Callback(CallbackRequest),
    Dnc(DncSignal),
}

impl Effect {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Callback(_) => "callback",
            Self::Dnc(_) => "dnc",
        }
    }
}

/// The outcome of an event for a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The event was seen before: nothing changes.
    Duplicate,
    Applied(Box<Applied>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub state: LeadState,
    pub effects: Vec<Effect>,
    /// A callback that was not requested because the lead is DNC.
    pub callback_suppressed: bool,
}

/// An event at or before the horizon that the state does not remember: most likely a
/// redelivery. Only a DNC signal is applied (it is idempotent); nothing else changes.
fn beyond_the_horizon(
    old: &LeadState,
    event: &CallEvent,
    id: &EventId,
    at: &EventOrder,
) -> Decision {
    let Some(signal) = DncSignal::of_event(event, id) else {
        return Decision::Duplicate;
    };
    let mut state = old.clone();
    keep_earliest(&mut state.dnc, at, signal.reason);
    state.decided_status = None;
    Decision::Applied(Box::new(Applied {
        state,
        effects: vec![Effect::Dnc(signal)],
        callback_suppressed: false,
    }))
}

/// Applies `event` (whose id is `id`) to the lead's state, if it has one.
pub fn decide(old: Option<&LeadState>, event: &CallEvent, id: &EventId) -> Decision {
    let at = EventOrder::of(event, id);
    // By id: the ids an item of the first format kept carry no order.
    if old.is_some_and(|state| state.recent.iter().any(|seen| seen.id == *id)) {
        return Decision::Duplicate;
    }
    if let Some(old) = old.filter(|state| state.horizon.as_ref().is_some_and(|h| at <= *h)) {
        return beyond_the_horizon(old, event, id, &at);
    }
    let was_dnc = old.is_some_and(LeadState::is_dnc);
    let mut state = old.cloned().unwrap_or_else(|| LeadState::new(event, &at));
    state.record(event, &at);

    let source = Source {
        event_type: event.event_type(),
        event_time: event.event_time,
        event_id: id.clone(),
    };
    // The event's own id, not the lead's latest known one: what a message says must not
    // depend on the order in which the lead's other events arrived.
    let external_lead_id = event.external_lead_id.clone();
    let mut effects = Vec::new();
    let mut callback_suppressed = false;
    if let CallEventKind::Scheduled { scheduled_time } = &event.kind {
        if was_dnc {
            callback_suppressed = true;
        } else {
            effects.push(Effect::Callback(CallbackRequest {
                id: call_events_messages::ids::callback_id(id.as_str()),
                campaign_id: state.campaign_id.clone(),
                phone: state.phone.clone(),
                external_lead_id: external_lead_id.clone(),
                scheduled_time: *scheduled_time,
                source: source.clone(),
            }));
        }
    }
    // Every distinct DNC event is a signal: the register counts them and keeps the
    // earliest, whichever campaign it came from.
    effects.extend(DncSignal::of_event(event, id).map(Effect::Dnc));
    Decision::Applied(Box::new(Applied {
        state,
        effects,
        callback_suppressed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::wire::{Inbound, parse_body};

    pub(crate) fn event(event_type: &str, time: &str, data: &str) -> CallEvent {
        let body = format!(
            r#"{{"metadata":{{"eventType":"{event_type}","campaignId":"camp","eventTime":"{time}"}},"data":{{"phone":"+1234567890",{data}}}}}"#
        );
        match parse_body(body.as_bytes()) {
            Ok(Inbound::Call(event)) => event,
            other => panic!("bad test event {body}: {other:?}"),
        }
    }

    fn key(time: &str, key: &str) -> CallEvent {
        event(
            "lead.call_key_pressed",
            time,
            &format!(r#""callType":"inbound","keypressNumber":"{key}""#),
        )
    }

    fn ended(time: &str, result: &str) -> CallEvent {
        event(
            "lead.call_ended",
            time,
            &format!(r#""callType":"inbound","callResult":"{result}""#),
        )
    }

    fn scheduled(time: &str, at: &str) -> CallEvent {
        event(
            "lead.call_scheduled",
            time,
            &format!(r#""scheduledTime":"{at}""#),
        )
    }

    fn initiated(time: &str) -> CallEvent {
        event("lead.call_initiated", time, r#""isScheduled":false"#)
    }

    /// Applies events in order, returning the final state and every effect.
    fn run(events: &[CallEvent]) -> (Option<LeadState>, Vec<Effect>) {
        let mut state = None;
        let mut effects = Vec::new();
        for e in events {
            if let Decision::Applied(applied) = decide(state.as_ref(), e, &e.id()) {
                effects.extend(applied.effects);
                state = Some(applied.state);
            }
        }
        (state, effects)
    }

    fn status_after(events: &[CallEvent]) -> Option<Status> {
        run(events).0.and_then(|s| s.status())
    }

    const T0: &str = "2024-01-28T12:00:00.000Z";
    const T1: &str = "2024-01-28T12:01:00.000Z";
    const T2: &str = "2024-01-28T12:02:00.000Z";

    #[test]
    fn each_event_type_decides_its_status() {
        assert_eq!(status_after(&[initiated(T0)]), Some(Status::Calling));
        assert_eq!(
            status_after(&[event("lead.call_received", T0, r#""x":1"#)]),
            Some(Status::InCall)
        );
        assert_eq!(
            status_after(&[event(
                "lead.call_transferred",
                T0,
                r#""transferredTo":"+1987654321","callType":"outbound""#
            )]),
            Some(Status::Transferred)
        );
        assert_eq!(
            status_after(&[scheduled(T0, T2)]),
            Some(Status::CallbackScheduled)
        );
    }

    #[test]
    fn call_ended_status_follows_call_result() {
        assert_eq!(
            status_after(&[ended(T0, "transfer")]),
            Some(Status::Transferred)
        );
        assert_eq!(status_after(&[ended(T0, "dnc")]), Some(Status::Dnc));
        assert_eq!(
            status_after(&[ended(T0, "reschedule")]),
            Some(Status::RescheduleRequested)
        );
        assert_eq!(
            status_after(&[ended(T0, "no_response")]),
            Some(Status::NoResponse)
        );
    }

    #[test]
    fn key_1_requests_transfer_and_key_2_reschedule() {
        assert_eq!(
            status_after(&[key(T0, "1")]),
            Some(Status::TransferRequested)
        );
        assert_eq!(
            status_after(&[key(T0, "2")]),
            Some(Status::RescheduleRequested)
        );
    }

    #[test]
    fn other_keys_leave_status_as_it_was() {
        assert_eq!(
            status_after(&[initiated(T0), key(T1, "5")]),
            Some(Status::Calling)
        );
        assert_eq!(
            status_after(&[initiated(T0), key(T1, "#")]),
            Some(Status::Calling)
        );
        let (state, _) = run(&[initiated(T0), key(T1, "5")]);
        let state = state.unwrap();
        assert_eq!(
            state.last_keypress.unwrap().value,
            DtmfKey::parse("5").unwrap()
        );
        assert_eq!(state.counters.keypresses, 1);
    }

    #[test]
    fn latest_event_decides_status() {
        assert_eq!(
            status_after(&[initiated(T0), ended(T1, "no_response")]),
            Some(Status::NoResponse)
        );
        assert_eq!(
            status_after(&[ended(T1, "no_response"), initiated(T0)]),
            Some(Status::NoResponse)
        );
    }

    #[test]
    fn same_time_events_are_ordered_by_type_rank() {
        // call_ended ranks after call_initiated at the same eventTime.
        assert_eq!(
            status_after(&[ended(T0, "no_response"), initiated(T0)]),
            Some(Status::NoResponse)
        );
    }

    #[test]
    fn dnc_is_sticky_after_key_9() {
        assert_eq!(
            status_after(&[key(T0, "9"), initiated(T1), ended(T2, "transfer")]),
            Some(Status::Dnc)
        );
    }

    #[test]
    fn dnc_is_sticky_after_call_result_dnc() {
        assert_eq!(
            status_after(&[ended(T0, "dnc"), key(T1, "1")]),
            Some(Status::Dnc)
        );
    }

    #[test]
    fn dnc_at_is_the_earliest_dnc_event_whatever_the_order() {
        let (state, _) = run(&[ended(T2, "dnc"), key(T1, "9")]);
        let dnc = state.unwrap().dnc.unwrap();
        assert_eq!(dnc.at.time.to_rfc3339(), T1);
        assert_eq!(dnc.value, DncReason::Keypress9);
    }

    #[test]
    fn counters_count_distinct_events() {
        let (state, _) = run(&[
            initiated(T0),
            initiated(T0),
            initiated(T1),
            ended(T2, "no_response"),
            ended(T2, "no_response"),
        ]);
        let counters = state.unwrap().counters;
        assert_eq!(counters.calls_initiated, 2);
        assert_eq!(counters.calls_ended, 1);
    }

    #[test]
    fn same_event_again_is_a_duplicate() {
        let e = initiated(T0);
        let (state, _) = run(std::slice::from_ref(&e));
        assert_eq!(decide(state.as_ref(), &e, &e.id()), Decision::Duplicate);
    }

    #[test]
    fn one_callback_per_distinct_scheduled_event() {
        let (_, effects) = run(&[scheduled(T0, T2), scheduled(T0, T2), scheduled(T1, T2)]);
        let ids: BTreeSet<_> = effects
            .iter()
            .map(|e| match e {
                Effect::Callback(c) => c.id.clone(),
                Effect::Dnc(_) => panic!("unexpected DNC signal"),
            })
            .collect();
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn callback_is_suppressed_when_the_lead_is_already_dnc() {
        let (state, effects) = run(&[key(T0, "9")]);
        assert_eq!(effects.len(), 1);
        match decide(state.as_ref(), &scheduled(T1, T2), &scheduled(T1, T2).id()) {
            Decision::Applied(applied) => {
                assert!(applied.effects.is_empty());
                assert!(applied.callback_suppressed);
                assert_eq!(applied.state.status(), Some(Status::Dnc));
            }
            Decision::Duplicate => panic!("not a duplicate"),
        }
    }

    #[test]
    fn every_distinct_dnc_event_is_a_signal_for_the_register() {
        let (_, effects) = run(&[key(T0, "9"), ended(T1, "dnc"), key(T2, "9"), key(T0, "9")]);
        let signals: Vec<&DncSignal> = effects
            .iter()
            .map(|e| match e {
                Effect::Dnc(signal) => signal,
                Effect::Callback(_) => panic!("unexpected callback"),
            })
            .collect();
        assert_eq!(signals.len(), 3, "the redelivered key 9 is no new signal");
        assert_eq!(signals[0].reason, DncReason::Keypress9);
        assert_eq!(signals[0].at.to_rfc3339(), T0);
        assert_eq!(signals[1].reason, DncReason::CallResultDnc);
        assert_eq!(
            signals[0].campaign_id.as_ref().map(|c| c.as_str()),
            Some("camp")
        );
    }

    #[test]
    fn dnc_created_marks_the_lead_dnc_with_its_own_reason_and_dnc_timestamp() {
        let dnc = event(
            "dnc.created",
            T2,
            r#""dncTimestamp":"2024-01-28T11:59:00.000Z""#,
        );
        let (state, effects) = run(&[initiated(T0), dnc]);
        let state = state.unwrap();
        assert_eq!(state.status(), Some(Status::Dnc));
        let dnc = state.dnc.unwrap();
        assert_eq!(dnc.value, DncReason::DncCreated);
        assert_eq!(
            dnc.at.time.to_rfc3339(),
            T2,
            "the lead's dncAt is the eventTime"
        );
        let Some(Effect::Dnc(signal)) = effects.last() else {
            panic!("expected a DNC signal")
        };
        assert_eq!(signal.at.to_rfc3339(), "2024-01-28T11:59:00.000Z");
        assert_eq!(
            signal.reason.event_type(),
            call_events_messages::DncEventType::DncCreated
        );
    }

    #[test]
    fn external_lead_id_comes_from_the_latest_event_that_carries_one() {
        let with_id = |time, id| {
            event(
                "lead.call_received",
                time,
                &format!(r#""externalLeadId":"{id}""#),
            )
        };
        let (state, _) = run(&[
            with_id(T1, "new"),
            with_id(T0, "old"),
            event("lead.call_received", T2, r#""externalLeadId":null"#),
        ]);
        assert_eq!(
            state.unwrap().external_lead_id.unwrap().value.as_str(),
            "new"
        );
    }

    #[test]
    fn event_id_is_stable_and_content_derived() {
        let a = initiated(T0);
        assert_eq!(a.id(), initiated(T0).id());
        assert_eq!(a.id(), initiated("2024-01-28T13:00:00+01:00").id());
        assert_ne!(a.id(), initiated(T1).id());
        assert_ne!(key(T0, "1").id(), key(T0, "2").id());
        assert!(a.id().as_str().starts_with("evt_"));
        assert_eq!(a.id().as_str().len(), 4 + 32);
    }

    fn many_keypresses(n: usize) -> LeadState {
        let mut state = None;
        for i in 0..n {
            let time = format!("2024-01-28T12:00:{:02}.{:03}Z", i % 60, i / 60);
            let e = key(&time, "5");
            if let Decision::Applied(applied) = decide(state.as_ref(), &e, &e.id()) {
                state = Some(applied.state);
            }
        }
        state.unwrap()
    }

    #[test]
    fn the_state_remembers_at_most_the_latest_events_and_a_horizon() {
        let state = many_keypresses(RECENT_EVENTS + 40);
        assert_eq!(state.recent.len(), RECENT_EVENTS);
        assert_eq!(state.counters.keypresses, (RECENT_EVENTS + 40) as u64);
        let horizon = state.horizon.clone().unwrap();
        assert!(state.recent.iter().all(|kept| *kept > horizon));
    }

    #[test]
    fn a_redelivery_older_than_the_horizon_is_a_duplicate() {
        let state = many_keypresses(RECENT_EVENTS + 40);
        let old = key("2024-01-28T12:00:00.000Z", "5");
        assert_eq!(decide(Some(&state), &old, &old.id()), Decision::Duplicate);
    }

    #[test]
    fn a_dnc_signal_older_than_the_horizon_is_still_applied() {
        let state = many_keypresses(RECENT_EVENTS + 40);
        let old_dnc = key("2024-01-28T11:59:00.000Z", "9");
        let Decision::Applied(applied) = decide(Some(&state), &old_dnc, &old_dnc.id()) else {
            panic!("an opt-out is never dropped")
        };
        assert_eq!(applied.state.status(), Some(Status::Dnc));
        assert_eq!(applied.state.counters, state.counters, "nothing counted");
        assert!(matches!(applied.effects.as_slice(), [Effect::Dnc(_)]));
    }
}
