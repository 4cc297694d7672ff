//! The relay's confirmations on the lead table, and the sweep's reads of the index of
//! writes it has not confirmed ([`item::RELAY_INDEX`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::attribute::text_of as text;
use super::item::{
    PARTITION_KEY, RELAY_ENTRY, RELAY_INDEX, RELAY_PENDING, RELAY_PENDING_SINCE, SORT_KEY,
    confirmations, relay_keys, waiting_now,
};
use super::sparse::{SparseIndex, items_since};
use super::{DynamoLeadStore, Updated};
use crate::adapters::failure::classify;
use crate::core::decided::{Decided, RelayMark, Unreadable, Waiting};
use crate::core::domain::Timestamp;
use crate::ports::{BackendError, RelayLedger};

fn key(phone: &str, sort_key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            PARTITION_KEY.to_owned(),
            AttributeValue::S(phone.to_owned()),
        ),
        (SORT_KEY.to_owned(), AttributeValue::S(sort_key.to_owned())),
    ])
}

/// What a waiting item holds for the relay now ([`waiting_now`]); an item this code cannot
/// read comes whole, with why, to be parked (the in-memory ledger reads the same way).
pub(crate) fn waiting_item(
    item: HashMap<String, AttributeValue>,
    before: Timestamp,
) -> Option<Result<Decided, Unreadable>> {
    let image = serde_json::to_string(&serde_dynamo::Item::from(item.clone()))
        .unwrap_or_else(|e| format!("(not shown: {e})"));
    match waiting_now(item.into(), before) {
        Ok(decided) => decided.map(Ok),
        Err(e) => Some(Err(Unreadable {
            why: e.to_string(),
            image,
        })),
    }
}

/// Up to `limit` of `(since, phone, sort key)`, the longest waiting first.
pub(crate) fn longest_waiting(mut found: Vec<Waiting>, limit: usize) -> Vec<Waiting> {
    found.sort_by(|a, b| (&a.since, &a.phone, &a.sort_key).cmp(&(&b.since, &b.phone, &b.sort_key)));
    found.truncate(limit);
    found
}

impl RelayLedger for DynamoLeadStore {
    async fn confirm(&self, mark: &RelayMark) -> Result<bool, BackendError> {
        for update in confirmations(mark, Timestamp::now()) {
            match self.update(key(&mark.phone, &mark.sort_key), update).await {
                Ok(Updated::Done) => return Ok(true),
                Ok(Updated::Refused(_)) => continue,
                Err(e) => {
                    return Err(classify(
                        "DynamoDB UpdateItem (relay confirmation)",
                        "the lead table refuses the confirmation",
                        e,
                    ));
                }
            }
        }
        Ok(false)
    }

    async fn waiting(&self, before: Timestamp, limit: usize) -> Result<Vec<Waiting>, BackendError> {
        let index = SparseIndex {
            table: &self.table,
            index: RELAY_INDEX,
            shard_key: RELAY_PENDING,
            since_key: RELAY_PENDING_SINCE,
            operation: "DynamoDB Query (writes the relay has not confirmed)",
            why: "the relay-pending index cannot be read",
        };
        let items = items_since(&self.client, &index, relay_keys(), before, limit).await?;
        let found = items
            .iter()
            .filter_map(|item| {
                Some(Waiting {
                    phone: text(item, PARTITION_KEY)?,
                    sort_key: text(item, SORT_KEY)?,
                    since: text(item, RELAY_PENDING_SINCE)?,
                })
            })
            .collect();
        Ok(longest_waiting(found, limit))
    }

    async fn reread(
        &self,
        waiting: &Waiting,
        before: Timestamp,
    ) -> Result<Option<Result<Decided, Unreadable>>, BackendError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&waiting.phone, &waiting.sort_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "DynamoDB GetItem (a write the relay has not confirmed)",
                    "the lead table refuses the key",
                    e,
                )
            })?;
        Ok(output.item.and_then(|item| waiting_item(item, before)))
    }

    async fn set_aside(&self, waiting: &Waiting) -> Result<(), BackendError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&waiting.phone, &waiting.sort_key)))
            // Its own stream record passes no filter (no relayEntry, no outboxVersion), so it
            // is parked once.
            .update_expression("REMOVE #pending, #since, #entry, #legacy")
            .condition_expression("#since = :since")
            .expression_attribute_names("#pending", RELAY_PENDING)
            .expression_attribute_names("#since", RELAY_PENDING_SINCE)
            .expression_attribute_names("#entry", RELAY_ENTRY)
            .expression_attribute_names("#legacy", "outboxVersion")
            .expression_attribute_values(":since", AttributeValue::S(waiting.since.clone()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(classify(
                "DynamoDB UpdateItem (setting an unreadable item aside)",
                "the lead table refuses the update",
                e,
            )),
        }
    }
}
