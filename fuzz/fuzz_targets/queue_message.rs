//! Any text as a queue message body, read with `call-events-messages` as a consumer reads
//! it: never a panic; what reads as a message writes back to a body that reads as the same
//! message.
#![no_main]

use call_events_messages::{Message, to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = Message::from_json(text) else {
        return;
    };
    let again = match &message {
        Message::Callback(m) => to_json(m),
        Message::Dnc(m) => to_json(m),
    };
    let reread = Message::from_json(&again).expect("a written message reads back");
    assert_eq!(reread, message);
});
