//! The one rule of every versioned write (lead items and register entries), on DynamoDB
//! and in memory.

use super::*;

/// The one rule of every versioned write, on DynamoDB and in memory: the write goes
/// through only if the stored item is at `expected` (`None`: there is no item). DynamoDB
/// evaluates it as [`version_condition`] says; the in-memory adapters call this.
pub fn version_condition_holds(
    current: Option<&HashMap<String, AttributeValue>>,
    expected: Option<u64>,
) -> bool {
    let stored = current.map(|item| {
        item.get(VERSION)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    });
    match (stored, expected) {
        (None, None) => true,
        (Some(stored), Some(expected)) => stored == Some(expected),
        _ => false,
    }
}

/// [`version_condition_holds`] as a DynamoDB condition on a put: the expression, and its
/// attribute names and values (`key` is the table's partition key).
pub fn version_condition(
    key: &'static str,
    expected: Option<u64>,
) -> (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<AttributeValue>,
) {
    match expected {
        None => ("attribute_not_exists(#pk)", vec![("#pk", key)], None),
        Some(v) => (
            "#version = :expected",
            vec![("#version", VERSION)],
            Some(AttributeValue::N(v.to_string())),
        ),
    }
}

/// Applies [`version_condition`] to a PutItem.
pub fn versioned(
    request: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    key: &'static str,
    expected: Option<u64>,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    let (expression, names, value) = version_condition(key, expected);
    let mut request = request.condition_expression(expression);
    for (placeholder, name) in names {
        request = request.expression_attribute_names(placeholder, name);
    }
    match value {
        Some(value) => request.expression_attribute_values(":expected", value),
        None => request,
    }
}
