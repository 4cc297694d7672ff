//! The DNC register on DynamoDB (CONTRACT §4a): one item per phone, read and written by the
//! relay with optimistic concurrency. A consumer asks "may we call this number?" with one
//! GetItem on `phone`. The item's contract attributes are `dncAt`, `reason`, `campaignId`,
//! `externalLeadId`, `source`, `evidence` and `signals`; `firstSignalAt`, `signalIds`,
//! `requestedBy` and `version` are the function's own.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::domain::{Phone, Timestamp};
use crate::failure::classify;
use crate::ports::{BackendError, DncRegisterStore, RegisterSaveError};
use crate::register::{DncReason, DncSignalRecord, DncSource, Evidence, RegisterEntry};

pub const REGISTER_KEY: &str = "phone";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterItem {
    phone: String,
    /// The earliest signal's time (RFC 3339 UTC, milliseconds).
    dnc_at: String,
    reason: DncReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_lead_id: Option<String>,
    source: DncSource,
    evidence: Evidence,
    signals: u64,
    /// The earliest signal's time, lossless (nanoseconds), for ordering.
    first_signal_at: String,
    signal_ids: Vec<String>,
    requested_by: String,
    version: u64,
}

/// The register item for `entry` at `version`.
pub fn register_item(
    phone: &Phone,
    entry: &RegisterEntry,
    version: u64,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let first = &entry.first;
    let dnc_at = Timestamp::parse(&first.at)
        .map(Timestamp::to_rfc3339)
        .unwrap_or_else(|_| first.at.clone());
    serde_dynamo::to_item(RegisterItem {
        phone: phone.as_str().to_owned(),
        dnc_at,
        reason: first.reason,
        campaign_id: first.campaign_id.clone(),
        external_lead_id: first.external_lead_id.clone(),
        source: first.source.clone(),
        evidence: first.evidence.clone(),
        signals: entry.signals() as u64,
        first_signal_at: first.at.clone(),
        signal_ids: entry.signal_ids.iter().cloned().collect(),
        requested_by: entry.requested_by.clone(),
        version,
    })
}

/// The entry and version a register item holds.
pub fn register_entry(
    item: HashMap<String, AttributeValue>,
) -> Result<(RegisterEntry, u64), serde_dynamo::Error> {
    let item: RegisterItem = serde_dynamo::from_item(item)?;
    let entry = RegisterEntry {
        first: DncSignalRecord {
            phone: item.phone,
            campaign_id: item.campaign_id,
            external_lead_id: item.external_lead_id,
            reason: item.reason,
            at: item.first_signal_at,
            source: item.source,
            evidence: item.evidence,
        },
        signal_ids: item.signal_ids.into_iter().collect(),
        requested_by: item.requested_by,
    };
    Ok((entry, item.version))
}

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

impl DncRegisterStore for DynamoDncRegister {
    async fn load(&self, phone: &Phone) -> Result<Option<(RegisterEntry, u64)>, BackendError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.as_str().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "DynamoDB GetItem (DNC register)",
                    "the register refuses the phone",
                    e,
                )
            })?;
        output.item.map(register_entry).transpose().map_err(|e| {
            BackendError::permanent(
                "reading the DNC register item",
                "the DNC register item is unreadable",
                e,
            )
        })
    }

    async fn save(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        expected_version: Option<u64>,
    ) -> Result<(), RegisterSaveError> {
        let version = expected_version.map_or(1, |v| v + 1);
        let item = register_item(phone, entry, version).map_err(|e| {
            BackendError::permanent(
                "writing the DNC register item",
                "the register entry cannot be encoded",
                e,
            )
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match expected_version {
            None => request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", REGISTER_KEY),
            Some(v) => request
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(RegisterSaveError::Conflict)
            }
            Err(e) => Err(classify(
                "DynamoDB PutItem (DNC register)",
                "DynamoDB refuses the register entry",
                e,
            )
            .into()),
        }
    }
}
