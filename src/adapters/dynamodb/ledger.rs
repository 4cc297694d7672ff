//! The relay's confirmations on the lead table, and the sweep's reads of the index of
//! writes it has not confirmed ([`item::RELAY_INDEX`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoLeadStore;
use super::item::{
    PARTITION_KEY, RELAY_INDEX, RELAY_PENDING, RELAY_PENDING_SINCE, SORT_KEY, VERSION,
    confirmation, relay_keys,
};
use super::sparse::{SparseIndex, items_since};
use super::stream::decode_new_image;
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

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// Up to `limit` of `(since, phone, sort key)`, the longest waiting first.
pub(crate) fn longest_waiting(mut found: Vec<Waiting>, limit: usize) -> Vec<Waiting> {
    found.sort_by(|a, b| (&a.since, &a.phone, &a.sort_key).cmp(&(&b.since, &b.phone, &b.sort_key)));
    found.truncate(limit);
    found
}

impl RelayLedger for DynamoLeadStore {
    async fn confirm(&self, mark: &RelayMark) -> Result<bool, BackendError> {
        let (update, condition) = confirmation();
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&mark.phone, &mark.sort_key)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#pending", RELAY_PENDING)
            .expression_attribute_values(":version", number(mark.version))
            .expression_attribute_values(":next", number(mark.version + 1))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(classify(
                "DynamoDB UpdateItem (relay confirmation)",
                "the lead table refuses the confirmation",
                e,
            )),
        }
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
        Ok(output
            .item
            .filter(|item| item.contains_key(RELAY_PENDING))
            .map(|item| decode_new_image(item.into())))
    }

    async fn set_aside(&self, waiting: &Waiting) -> Result<(), BackendError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&waiting.phone, &waiting.sort_key)))
            .update_expression("REMOVE #pending, #since")
            .condition_expression("#since = :since")
            .expression_attribute_names("#pending", RELAY_PENDING)
            .expression_attribute_names("#since", RELAY_PENDING_SINCE)
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
