//! The JSON Schemas of the messages, generated from the types. The project keeps them in
//! `schemas/`, for consumers in any language; `cargo run -p call-events-messages --example
//! write_schemas` rewrites them, and a test fails while the files differ from this.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};

use crate::{CallbackScheduled, DncRequested, QuarantineRecord};

/// The file names, in the order [`schemas`] returns them.
pub const SCHEMA_FILES: [&str; 3] = [
    "callback.scheduled.schema.json",
    "dnc.requested.schema.json",
    "quarantine.schema.json",
];

/// Each schema file's name and its text (pretty JSON, ending in a newline).
pub fn schemas() -> [(&'static str, String); 3] {
    let [callback, dnc, quarantine] = SCHEMA_FILES;
    [
        (callback, text::<CallbackScheduled>()),
        (dnc, text::<DncRequested>()),
        (quarantine, text::<QuarantineRecord>()),
    ]
}

fn text<T: JsonSchema>() -> String {
    let schema = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(unwrap_description))
        .into_generator()
        .into_root_schema_for::<T>();
    // A schema is a JSON value: printing it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Doc comments are wrapped for the source; a description reads better as one line per
/// paragraph.
fn unwrap_description(schema: &mut Schema) {
    if let Some(serde_json::Value::String(text)) = schema.get_mut("description") {
        *text = text
            .split("\n\n")
            .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
}
