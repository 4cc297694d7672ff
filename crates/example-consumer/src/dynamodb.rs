//! The DynamoDB adapters: the idempotency table and the DNC register.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::ports::{Claim, DncRegister, IdempotencyStore, StoreError};

/// The idempotency table's partition key.
pub const KEY: &str = "id";
/// The idempotency table's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiration";

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// Powertools' idempotency layout: partition key `id`, `status`, `expiration` (epoch
/// seconds, the table's TTL attribute) and `in_progress_expiration` (epoch milliseconds).
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    client: Client,
    table: String,
    ttl_seconds: u64,
}

impl DynamoIdempotency {
    /// `ttl_seconds`: how long a handled id is remembered. Keep it at least the queue's
    /// retention plus its DLQ's, so a redriven message is still known.
    pub fn new(client: Client, table: impl Into<String>, ttl_seconds: u64) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_seconds,
        }
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        id: &str,
        now_ms: u64,
        in_progress_until_ms: u64,
    ) -> Result<Claim, StoreError> {
        let now_s = now_ms / 1000;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(id))
            .item("status", s(IN_PROGRESS))
            .item("expiration", n(now_s + self.ttl_seconds))
            .item("in_progress_expiration", n(in_progress_until_ms))
            .condition_expression(
                "attribute_not_exists(id) OR expiration < :now \
                 OR (#status = :in_progress AND in_progress_expiration < :now_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", n(now_s))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed)) => {
                    let completed = failed
                        .item()
                        .and_then(|item| item.get("status"))
                        .and_then(|status| status.as_s().ok())
                        .is_some_and(|status| status == COMPLETED);
                    Ok(if completed { Claim::Completed } else { Claim::InProgress })
                }
                _ => Err(StoreError::new("claiming a message id", e)),
            },
        }
    }

    async fn complete(&self, id: &str, outcome: &str, now_ms: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(id))
            .item("status", s(COMPLETED))
            .item("outcome", s(outcome))
            .item("expiration", n(now_ms / 1000 + self.ttl_seconds))
            .send()
            .await
            .map_err(|e| StoreError::new("recording a message as handled", e))?;
        Ok(())
    }

    async fn release(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id))
            .send()
            .await
            .map_err(|e| StoreError::new("releasing a message id", e))?;
        Ok(())
    }
}

/// The receiver's DNC register: one item per phone number, key `phone`.
#[derive(Debug, Clone)]
pub struct DynamoDncRegister {
    client: Client,
    table: String,
}

impl DynamoDncRegister {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl DncRegister for DynamoDncRegister {
    async fn is_dnc(&self, phone: &str) -> Result<bool, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("phone", s(phone))
            // "May we call?" is asked just before calling: read the latest write.
            .consistent_read(true)
            .projection_expression("phone")
            .send()
            .await
            .map_err(|e| StoreError::new("reading the DNC register", e))?;
        Ok(item.item().is_some())
    }
}

/// Creates an idempotency table (partition key `id`, TTL on `expiration`), for a local
/// emulator and tests; in AWS the example's `template.yaml` makes it.
pub async fn create_idempotency_table(client: &Client, name: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let fail = |e| StoreError::new("creating the idempotency table", e);
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(fail)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(fail)?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| StoreError::new("creating the idempotency table", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(fail)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::new("enabling the idempotency table's TTL", e))?;
    Ok(())
}
