//! Any authentic body: parsing never panics; a lead event parses into a state that survives
//! the item round trip unchanged.
#![no_main]

use call_events::adapters::dynamodb::item::{lead_item, stored_lead};
use call_events::core::lead::{Decision, decide};
use call_events::core::wire::{Inbound, parse_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Inbound::Call(event)) = parse_body(data) else {
        return;
    };
    let Decision::Applied(applied) = decide(None, &event, &event.id()) else {
        panic!("a first event is never a duplicate");
    };
    let item = lead_item(&applied.state, &Default::default(), 1, event.event_time)
        .expect("every valid state encodes");
    let back = stored_lead(item).expect("every written item reads back");
    assert_eq!(back.state, applied.state);
});
