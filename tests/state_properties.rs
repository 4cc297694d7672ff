//! Properties of the pure core: order independence, idempotency, one DNC request per lead,
//! and no panic on arbitrary input.

mod support;

use call_events::core::domain::CallEvent;
use call_events::core::lead::{Decision, Effect, LeadState, decide};
use call_events::core::signature::{Secret, Verifier};
use call_events::core::wire::parse_body;
use proptest::prelude::*;
use support::call_event;

/// Delivers `events` in order; returns the final state and every effect produced.
fn deliver(events: &[CallEvent]) -> (Option<LeadState>, Vec<Effect>) {
    let mut state: Option<LeadState> = None;
    let mut effects = Vec::new();
    for event in events {
        if let Decision::Applied(applied) = decide(state.as_ref(), event, &event.id()) {
            effects.extend(applied.effects);
            state = Some(applied.state);
        }
    }
    (state, effects)
}

/// The events, shuffled, with some delivered more than once.
fn redelivered(events: Vec<CallEvent>) -> impl Strategy<Value = (Vec<CallEvent>, Vec<CallEvent>)> {
    let n = events.len();
    prop::collection::vec(0..n, 0..n * 2).prop_flat_map(move |dups| {
        let original = events.clone();
        let mut with_dups = events.clone();
        with_dups.extend(dups.iter().map(|&i| events[i].clone()));
        (Just(original), Just(with_dups).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_delivery_order_with_any_duplicates_gives_the_same_state(
        (events, delivered) in prop::collection::vec(call_event(), 1..10).prop_flat_map(redelivered)
    ) {
        let (expected, _) = deliver(&events);
        let (actual, _) = deliver(&delivered);
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn redelivering_every_event_changes_nothing(events in prop::collection::vec(call_event(), 1..10)) {
        let (state, _) = deliver(&events);
        for event in &events {
            prop_assert_eq!(decide(state.as_ref(), event, &event.id()), Decision::Duplicate);
        }
    }

    #[test]
    fn one_dnc_signal_per_distinct_dnc_event_and_none_for_a_lead_that_is_not_dnc(
        (events, delivered) in prop::collection::vec(call_event(), 1..12).prop_flat_map(redelivered)
    ) {
        let (state, effects) = deliver(&delivered);
        let signals: std::collections::BTreeSet<String> = effects.iter().filter_map(|e| match e {
            Effect::Dnc(signal) => Some(signal.source.event_id.to_string()),
            Effect::Callback(_) => None,
        }).collect();
        let emitted = effects.iter().filter(|e| matches!(e, Effect::Dnc(_))).count();
        prop_assert_eq!(emitted, signals.len(), "a DNC event signalled twice");
        let dnc_events: std::collections::BTreeSet<String> = events.iter()
            .filter(|e| deliver(std::slice::from_ref(e)).0.is_some_and(|s| s.is_dnc()))
            .map(|e| e.id().to_string())
            .collect();
        prop_assert_eq!(&signals, &dnc_events);
        let is_dnc = state.is_some_and(|s| s.is_dnc());
        prop_assert_eq!(is_dnc, !signals.is_empty());
    }

    #[test]
    fn callback_ids_are_unique_over_any_sequence(
        (_, delivered) in prop::collection::vec(call_event(), 1..12).prop_flat_map(redelivered)
    ) {
        let (_, effects) = deliver(&delivered);
        let mut ids: Vec<_> = effects.iter().filter_map(|e| match e {
            Effect::Callback(c) => Some(c.id.clone()),
            Effect::Dnc(_) => None,
        }).collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), total);
    }

    #[test]
    fn parsing_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_body(&bytes);
    }

    #[test]
    fn parsing_never_panics_on_json_shaped_input(
        event_type in prop::sample::select(vec!["lead.call_initiated", "lead.call_received", "lead.call_scheduled", "lead.call_ended", "lead.call_transferred", "lead.call_key_pressed", "dnc.created", "x"]),
        legacy in any::<bool>(),
        fields in prop::collection::vec((
            prop::sample::select(vec!["phone", "phoneNumber", "externalLeadId", "isScheduled", "scheduledTime", "callType", "callResult", "transferredTo", "keypressNumber", "dncTimestamp"]),
            prop_oneof![Just("null".to_owned()), any::<i64>().prop_map(|n| n.to_string()), any::<bool>().prop_map(|b| b.to_string()), "\\PC{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()), Just("[1,{}]".to_owned())],
        ), 0..8),
        time in "\\PC{0,30}",
    ) {
        let data: Vec<String> = fields.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
        let body = if legacy {
            format!(r#"{{"apiVersion":"2021-08-23","type":"{event_type}","data":{{{}}}}}"#, data.join(","))
        } else {
            format!(
                r#"{{"metadata":{{"eventType":"{event_type}","campaignId":"c","eventTime":{}}},"data":{{{}}}}}"#,
                serde_json::to_string(&time).unwrap(),
                data.join(",")
            )
        };
        let _ = parse_body(body.as_bytes());
    }

    #[test]
    fn signature_checking_never_panics(header in "\\PC{0,200}", body in prop::collection::vec(any::<u8>(), 0..256), now in any::<i64>()) {
        let verifier = Verifier::new(vec![Secret::new("whsec_test_0123456789abcdef").unwrap()], 300);
        let _ = verifier.verify(Some(&header), &body, now);
        let structured = format!("t={},v2={},v1={}", now, hex_of(&body), header);
        let _ = verifier.verify(Some(&structured), &body, now);
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
