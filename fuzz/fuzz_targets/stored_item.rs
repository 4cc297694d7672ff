//! Any item read from the tables (DynamoDB JSON): the lead item reader, the relay's view of
//! a stream record's new image, and the register reader never panic.
#![no_main]

use call_events::adapters::dynamodb::item::{committed, stored_lead};
use call_events::adapters::dynamodb::register::register_entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(item) = serde_json::from_slice::<serde_dynamo::Item>(data) else {
        return;
    };
    let _ = stored_lead(item.clone().into());
    let _ = register_entry(item.clone().into());
    let _ = committed(item);
});
