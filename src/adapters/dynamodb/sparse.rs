//! A sparse index keyed by a few shard values and a time: the register's pending requests
//! and the lead table's writes waiting for the relay are both read this way by the sweep.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::failure::classify;
use crate::core::domain::Timestamp;
use crate::ports::BackendError;

/// Which sparse index, and how its keys are named.
pub struct SparseIndex<'a> {
    pub table: &'a str,
    pub index: &'a str,
    /// The partition key (one of the shard values).
    pub shard_key: &'a str,
    /// The sort key: a time, RFC 3339.
    pub since_key: &'a str,
    /// What a failed Query is called in the logs, and what a permanent one means.
    pub operation: &'static str,
    pub why: &'static str,
}

/// Every item of each shard whose time is `before` or earlier (keys only, as projected),
/// up to `limit` per shard: a shard is read oldest first, so its first `limit` are all a
/// caller taking the `limit` oldest overall can need.
pub async fn items_since(
    client: &Client,
    index: &SparseIndex<'_>,
    shards: impl Iterator<Item = String>,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<HashMap<String, AttributeValue>>, BackendError> {
    let mut found = Vec::new();
    for shard in shards {
        let mut start = None;
        let mut in_shard = 0;
        loop {
            let output = client
                .query()
                .table_name(index.table)
                .index_name(index.index)
                .key_condition_expression("#shard = :shard AND #since <= :before")
                .expression_attribute_names("#shard", index.shard_key)
                .expression_attribute_names("#since", index.since_key)
                .expression_attribute_values(":shard", AttributeValue::S(shard.clone()))
                .expression_attribute_values(":before", AttributeValue::S(before.to_rfc3339()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(index.operation, index.why, e))?;
            let items = output.items.unwrap_or_default();
            in_shard += items.len();
            found.extend(items);
            start = output.last_evaluated_key;
            if start.is_none() || in_shard >= limit {
                break;
            }
        }
    }
    Ok(found)
}
