//! The DNC register on DynamoDB (CONTRACT §4a): one item per phone, read and written by the
//! relay and the sweep with optimistic concurrency. A consumer asks "may we call this
//! number?" with one GetItem on `phone`.
//!
//! Contract attributes: `dncAt`, `reason`, `campaignId`, `externalLeadId`, `source`,
//! `evidence`, `signals`, `requestState` (`pending` until SQS took the phone's
//! `dnc.requested`, then `sent`) and `requestSentAt`. The function's own: `firstSignalAt`
//! (lossless, for ordering), `recentSignalIds` (bounded), `version`, and, while the request
//! is pending, `pendingRequest` and `pendingSince`: the keys of the sparse index
//! [`PENDING_INDEX`], which is all the sweep reads. `requestRefused` says why SQS refused
//! the request for good (the entry then leaves the index; see README, "Operating").
//!
//! Items of the first release (`signalIds`, every id; `requestedBy`; no `requestState`) are
//! read: their request counts as pending, so the next pass that touches the phone sends it
//! again under the same id (consumers drop it as a repeat) and marks it sent.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::adapters::dynamodb::item::{VERSION, versioned};
use crate::adapters::failure::classify;
use crate::core::domain::{Phone, Timestamp};
use crate::core::register::{
    DncReason, DncSignalRecord, DncSource, Evidence, RECENT_SIGNAL_IDS, RegisterEntry,
    RequestState, StoredSignal,
};
use crate::ports::{BackendError, DncRegisterStore, RegisterSaveError};

pub const REGISTER_KEY: &str = "phone";
/// The sparse index of pending requests: partition key [`PENDING_KEY`] (one value,
/// [`PENDING`], present only while pending), sort key [`PENDING_SINCE`].
pub const PENDING_INDEX: &str = "byPendingRequest";
pub const PENDING_KEY: &str = "pendingRequest";
pub const PENDING_SINCE: &str = "pendingSince";
pub const PENDING: &str = "pending";
pub const REQUEST_STATE: &str = "requestState";
pub const REQUEST_SENT_AT: &str = "requestSentAt";
pub const REQUEST_REFUSED: &str = "requestRefused";
pub const SENT: &str = "sent";

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
    #[serde(default)]
    recent_signal_ids: Vec<String>,
    /// First release only: every signal id. Read, never written.
    #[serde(default, skip_serializing)]
    signal_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_refused: Option<String>,
    version: u64,
}

/// The register item for `entry` at `version`.
pub fn register_item(
    phone: &Phone,
    entry: &RegisterEntry,
    version: u64,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let dnc_at = entry.first.signal.at.to_rfc3339();
    let first = StoredSignal::from(entry.first.clone());
    let (state, sent_at, pending_since, refused) = match &entry.request {
        RequestState::Pending { since } => (PENDING, None, Some(since.clone()), None),
        RequestState::Sent { at } => (SENT, Some(at.clone()), None, None),
        RequestState::Refused { why } => (PENDING, None, None, Some(why.clone())),
    };
    serde_dynamo::to_item(RegisterItem {
        phone: phone.as_str().to_owned(),
        dnc_at,
        reason: first.reason,
        campaign_id: first.campaign_id,
        external_lead_id: first.external_lead_id,
        source: first.source,
        evidence: first.evidence,
        signals: entry.signals,
        first_signal_at: first.at,
        recent_signal_ids: entry.recent_signal_ids.iter().cloned().collect(),
        signal_ids: Vec::new(),
        request_state: Some(state.to_owned()),
        request_sent_at: sent_at,
        pending_request: pending_since.as_ref().map(|_| PENDING.to_owned()),
        pending_since,
        request_refused: refused,
        version,
    })
}

/// The entry and version a register item holds.
pub fn register_entry(
    item: HashMap<String, AttributeValue>,
) -> Result<(RegisterEntry, u64), serde_dynamo::Error> {
    let item: RegisterItem = serde_dynamo::from_item(item)?;
    let request = match (item.request_state.as_deref(), item.request_refused) {
        (Some(SENT), _) => RequestState::Sent {
            at: item.request_sent_at.unwrap_or_else(|| item.dnc_at.clone()),
        },
        (_, Some(why)) => RequestState::Refused { why },
        _ => RequestState::Pending {
            since: item.pending_since.unwrap_or_else(|| item.dnc_at.clone()),
        },
    };
    let mut recent: VecDeque<String> = match item.recent_signal_ids.is_empty() {
        true => item.signal_ids.into(),
        false => item.recent_signal_ids.into(),
    };
    while recent.len() > RECENT_SIGNAL_IDS {
        recent.pop_front();
    }
    let first = DncSignalRecord::try_from(StoredSignal {
        phone: item.phone,
        campaign_id: item.campaign_id,
        external_lead_id: item.external_lead_id,
        reason: item.reason,
        at: item.first_signal_at,
        source: item.source,
        evidence: item.evidence,
    })
    .map_err(<serde_dynamo::Error as serde::de::Error>::custom)?;
    let entry = RegisterEntry {
        first,
        signals: item.signals,
        recent_signal_ids: recent,
        request,
    };
    Ok((entry, item.version))
}

/// [`register_entry`], an item this code cannot read being a permanent failure: what both
/// registers (DynamoDB's and the in-memory one) answer a load with.
pub fn read_entry(
    item: HashMap<String, AttributeValue>,
) -> Result<(RegisterEntry, u64), BackendError> {
    register_entry(item).map_err(|e| {
        BackendError::permanent(
            "reading the DNC register item",
            "the DNC register item is unreadable",
            e,
        )
    })
}

/// `entry` with its request `state`: what marking it sent or refused writes, the same rule
/// for the memory register and DynamoDB's (where it is one UpdateItem, see below). A
/// request already sent stays sent, with its first time.
pub fn with_request(entry: &RegisterEntry, state: RequestState) -> Option<RegisterEntry> {
    if matches!(entry.request, RequestState::Sent { .. }) {
        return None;
    }
    Some(RegisterEntry {
        request: state,
        ..entry.clone()
    })
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

    /// Sets the request's state in place (the evidence is not rewritten), bumping the
    /// version so that a concurrent read-modify-write of the entry sees the change; a
    /// request already sent is left as it is.
    async fn set_request(
        &self,
        phone: &Phone,
        update: &str,
        values: &[(&str, &str)],
    ) -> Result<(), BackendError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.as_str().to_owned()))
            .update_expression(update)
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#state) OR #state <> :sent)",
            )
            .expression_attribute_names("#pk", REGISTER_KEY)
            .expression_attribute_names("#state", REQUEST_STATE)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":sent", AttributeValue::S(SENT.into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        for &(name, value) in values {
            request = request.expression_attribute_values(name, AttributeValue::S(value.into()));
        }
        if update.contains("#pending") {
            request = request
                .expression_attribute_names("#pending", PENDING_KEY)
                .expression_attribute_names("#since", PENDING_SINCE);
        }
        if update.contains("#sentAt") {
            request = request.expression_attribute_names("#sentAt", REQUEST_SENT_AT);
        }
        if update.contains("#refused") {
            request = request.expression_attribute_names("#refused", REQUEST_REFUSED);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            // Sent already (or not on the register: nothing to mark).
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(classify(
                "DynamoDB UpdateItem (DNC register request)",
                "DynamoDB refuses the register entry",
                e,
            )),
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
        output.item.map(read_entry).transpose()
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
        let request = versioned(request, REGISTER_KEY, expected_version);
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

    async fn mark_sent(&self, phone: &Phone, at: Timestamp) -> Result<(), BackendError> {
        let at = at.to_rfc3339();
        self.set_request(
            phone,
            "SET #state = :sent, #sentAt = :at, #version = #version + :one \
             REMOVE #pending, #since, #refused",
            &[(":at", &at)],
        )
        .await
    }

    async fn mark_refused(&self, phone: &Phone, why: &str) -> Result<(), BackendError> {
        self.set_request(
            phone,
            "SET #refused = :why, #version = #version + :one REMOVE #pending, #since",
            &[(":why", why)],
        )
        .await
    }

    async fn pending(&self, before: Timestamp, limit: usize) -> Result<Vec<Phone>, BackendError> {
        let mut phones = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(PENDING_INDEX)
                .key_condition_expression("#pending = :pending AND #since <= :before")
                .expression_attribute_names("#pending", PENDING_KEY)
                .expression_attribute_names("#since", PENDING_SINCE)
                .expression_attribute_values(":pending", AttributeValue::S(PENDING.into()))
                .expression_attribute_values(":before", AttributeValue::S(before.to_rfc3339()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Query (pending DNC requests)",
                        "the pending-request index cannot be read",
                        e,
                    )
                })?;
            for item in output.items.unwrap_or_default() {
                let phone = item.get(REGISTER_KEY).and_then(|v| v.as_s().ok());
                if let Some(phone) = phone.and_then(|p| Phone::parse(p).ok()) {
                    phones.push(phone);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() || phones.len() >= limit {
                phones.truncate(limit);
                return Ok(phones);
            }
        }
    }
}
