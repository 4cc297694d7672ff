//! The lead table on DynamoDB: one conditional UpdateItem per delivery. A failed condition
//! comes back with the item as it is (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), so
//! the use case decides again without reading.

pub(crate) mod attribute;
pub mod item;
pub(crate) mod ledger;
pub mod register;
mod sparse;
#[cfg(feature = "functions")]
pub mod stream;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::adapters::failure::classify;
use crate::core::domain::{Phone, Timestamp};
use crate::core::messages::QuarantineRecord;
use crate::core::proof::LeadFlag;
use crate::core::register::DncSignalRecord;
use crate::ports::{BackendError, Inbox, LeadStore, LeadWrite, Parked, ParkingLot, SaveError};
use item::update::Update;
use item::{
    PARTITION_KEY, SORT_KEY, lead_key, lead_update, new_write_id, parked_item, quarantine_item,
    signal_item, stamped, stored_lead, written_by,
};

#[derive(Debug, Clone)]
pub struct DynamoLeadStore {
    client: Client,
    table: String,
}

impl DynamoLeadStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl LeadStore for DynamoLeadStore {
    async fn save(&self, write: LeadWrite<'_>) -> Result<u64, SaveError> {
        let version = write.expected_version.map_or(1, |v| v + 1);
        let write_id = new_write_id();
        let update = lead_update(&write, version, Timestamp::now(), &write_id).map_err(|e| {
            BackendError::permanent(
                "writing the lead item",
                "the lead's item cannot be encoded",
                e,
            )
        })?;
        let key = lead_key(&write.state.campaign_id, &write.state.phone);
        if write.expected_version.is_none() {
            return self.create(key, &update, version).await;
        }
        match self.update(key, update).await {
            Ok(Updated::Done) => Ok(version),
            // The SDK retried an update whose answer was lost, and met its own write.
            Ok(Updated::Refused(Some(current))) if written_by(&current, &write_id) => Ok(version),
            Ok(Updated::Refused(current)) => {
                let current = current.map(stored_lead).transpose()?.map(Box::new);
                Err(SaveError::Conflict { current })
            }
            Err(e) => Err(classify(
                "DynamoDB UpdateItem (lead)",
                "DynamoDB refuses the lead's item (a key or the item too large)",
                e,
            )
            .into()),
        }
    }
}

impl DynamoLeadStore {
    /// A lead's first write, as one conditional put of the item the update makes of
    /// nothing: the same item, in the call that creates an item at once (DynamoDB's
    /// UpdateItem does too; moto's makes the key first, on the stream and to a racing
    /// writer).
    async fn create(
        &self,
        key: HashMap<String, AttributeValue>,
        update: &Update,
        version: u64,
    ) -> Result<u64, SaveError> {
        let item = update.apply(None, key).map_err(|e| {
            BackendError::permanent("writing the lead item", "the lead's item cannot be made", e)
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY);
        match self.put_once(request, item).await {
            Ok(Put::Written) => Ok(version),
            Ok(Put::Refused(current)) => {
                let current = current.map(stored_lead).transpose()?.map(Box::new);
                Err(SaveError::Conflict { current })
            }
            Err(e) => Err(classify(
                "DynamoDB PutItem (new lead)",
                "DynamoDB refuses the lead's item (a key or the item too large)",
                e,
            )
            .into()),
        }
    }
}

/// DynamoDB's refusal of an update whose document path names a map the item lacks.
fn no_such_path(error: &UpdateItemError) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    error.code() == Some("ValidationException")
        && error
            .message()
            .is_some_and(|m| m.contains("document path provided in the update expression"))
}

/// What a conditional update came to.
pub(crate) enum Updated {
    Done,
    /// The condition did not hold: the item as it is, if there is one.
    Refused(Option<HashMap<String, AttributeValue>>),
}

impl DynamoLeadStore {
    /// Sends `update` (rendered from its plan) to the item of `key`; a failed condition
    /// comes back with the item as it is.
    pub(crate) async fn update(
        &self,
        key: HashMap<String, AttributeValue>,
        update: Update,
    ) -> Result<
        Updated,
        SdkError<UpdateItemError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    > {
        let rendered = update.render();
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression(rendered.update)
            .set_condition_expression(rendered.condition)
            .set_expression_attribute_names(Some(rendered.names))
            .set_expression_attribute_values(
                (!rendered.values.is_empty()).then_some(rendered.values),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Updated::Done),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                match e.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => {
                        Ok(Updated::Refused(failed.item))
                    }
                    _ => Ok(Updated::Refused(None)),
                }
            }
            // A map the update adds to is not there: the writer's view of the item is stale
            // (a release before this one wrote the item whole meanwhile, as during a canary).
            // Refused like a failed condition, with the item as it is, read once.
            Err(SdkError::ServiceError(e)) if no_such_path(e.err()) => {
                let read = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .consistent_read(true)
                    .send()
                    .await;
                match read {
                    Ok(output) => Ok(Updated::Refused(output.item)),
                    // The update's own error says more than the read's.
                    Err(_) => Err(SdkError::ServiceError(e)),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// What a conditional put came to.
enum Put {
    /// This call's write is in the table (at its first attempt, or at an attempt whose
    /// answer was lost).
    Written,
    /// The condition did not hold: the item as it is, if there is one.
    Refused(Option<HashMap<String, AttributeValue>>),
}

impl DynamoLeadStore {
    /// Sends a conditional put of `item`, marked with a new write id, and tells this call's
    /// own write from another's when the condition fails: the SDK retries a put whose answer
    /// was lost (a timeout, a 500) after DynamoDB committed it, and that retry fails on the
    /// item its first attempt wrote ([`written_by`]).
    async fn put_once(
        &self,
        request: PutItemFluentBuilder,
        item: HashMap<String, AttributeValue>,
    ) -> Result<
        Put,
        SdkError<PutItemError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    > {
        let write_id = new_write_id();
        let sent = request
            .set_item(Some(stamped(item, &write_id)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Put::Written),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let current = match e.into_err() {
                    PutItemError::ConditionalCheckFailedException(failed) => failed.item,
                    _ => None,
                };
                match &current {
                    Some(current) if written_by(current, &write_id) => Ok(Put::Written),
                    _ => Ok(Put::Refused(current)),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// How long the connection warm-up may hold up the function's start.
const WARM_UP_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

impl DynamoLeadStore {
    /// Opens the connection to DynamoDB (TCP and TLS) at the function's start, with one
    /// `DescribeTable` of the lead table, so that the first delivery does not pay for it.
    /// At most [`WARM_UP_LIMIT`]; whatever it answers, the start goes on (the first
    /// delivery then opens the connection itself).
    pub async fn warm_up(&self) -> bool {
        let describe = self.client.describe_table().table_name(&self.table).send();
        match tokio::time::timeout(WARM_UP_LIMIT, describe).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::core::error_chain(&e), "connection warm-up failed");
                false
            }
            Err(_) => {
                tracing::warn!("connection warm-up took too long");
                false
            }
        }
    }
}

impl DynamoLeadStore {
    /// Puts an item that is not a lead, unconditionally; `why` says what a permanent
    /// refusal means.
    async fn put_unconditionally(
        &self,
        item: Result<HashMap<String, AttributeValue>, serde_dynamo::Error>,
        operation: &'static str,
        why: &'static str,
    ) -> Result<(), BackendError> {
        let item = item.map_err(|e| BackendError::permanent(operation, why, e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(operation, why, e))
    }
}

impl DynamoLeadStore {
    /// The phone's leads as `call-events-dnc prove` lists them: one consistent Query on the
    /// phone's partition, lead items only (docs/contract.md §4: a `campaignId` that does
    /// not start with `#`), each with its DNC flag.
    pub async fn lead_flags(&self, phone: &Phone) -> Result<Vec<LeadFlag>, BackendError> {
        let mut flags = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :phone")
                .projection_expression("#sk, #status, #dnc, #dncAt")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#dnc", "dnc")
                .expression_attribute_names("#dncAt", "dncAt")
                .expression_attribute_values(":phone", AttributeValue::S(phone.as_str().into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Query (the phone's leads)",
                        "the lead table refuses the phone",
                        e,
                    )
                })?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| attribute::text_of(&item, name);
                let Some(campaign_id) = text(SORT_KEY).filter(|c| !c.starts_with('#')) else {
                    continue;
                };
                flags.push(LeadFlag {
                    campaign_id,
                    status: text("status"),
                    dnc: item
                        .get("dnc")
                        .and_then(|v| v.as_bool().ok())
                        .copied()
                        .unwrap_or(false),
                    dnc_at: text("dncAt"),
                });
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(flags);
            }
        }
    }
}

impl Inbox for DynamoLeadStore {
    async fn keep_quarantined(&self, record: &QuarantineRecord) -> Result<(), BackendError> {
        let item = quarantine_item(record);
        let why = "the body cannot be kept";
        self.put_unconditionally(item, "DynamoDB PutItem (quarantine)", why)
            .await
    }

    async fn keep_signal(&self, record: &DncSignalRecord) -> Result<bool, BackendError> {
        let item = signal_item(record, Timestamp::now()).map_err(|e| {
            BackendError::permanent(
                "writing the DNC signal item",
                "the signal cannot be encoded",
                e,
            )
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(#sk)")
            .expression_attribute_names("#sk", SORT_KEY);
        match self.put_once(request, item).await {
            Ok(Put::Written) => Ok(true),
            Ok(Put::Refused(_)) => Ok(false),
            Err(e) => Err(classify(
                "DynamoDB PutItem (DNC signal)",
                "DynamoDB refuses the DNC signal",
                e,
            )),
        }
    }
}

impl ParkingLot for DynamoLeadStore {
    async fn park(&self, parked: &Parked) -> Result<(), BackendError> {
        let item = parked_item(parked);
        let why = "DynamoDB refuses the parked item";
        self.put_unconditionally(item, "DynamoDB PutItem (parked)", why)
            .await
    }
}
