//! DynamoDB attribute values made and read, once for every adapter of the crate.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// A string attribute.
pub fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute.
pub fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The string attribute `name` of `item`, if it has one.
pub fn text_of(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}
