//! The DNC register on DynamoDB (docs/contract.md §4a): one item per phone, read and
//! written by the relay and the sweep with optimistic concurrency. A consumer asks "may we
//! call this number?" with one GetItem on `phone`.
//!
//! Contract attributes: `dncAt`, `reason`, `campaignId`, `externalLeadId`, `source`,
//! `evidence`, `signals`, `requestState` (`pending` until SQS took the phone's
//! `dnc.requested`, then `sent`) and `requestSentAt`. The function's own: `firstSignalAt`
//! (lossless, for ordering), `recentSignalIds` (bounded), `version`, and, while the request
//! is pending, `pendingRequest` and `pendingSince`: the keys of the sparse index
//! [`PENDING_INDEX`], which is all the sweep reads. `requestRefused` says why SQS refused
//! the request for good (the entry then leaves the index; see docs/operating.md).
//!
//! Items of the first release (`signalIds`, every id; `requestedBy`; no `requestState`) are
//! read: their request counts as pending, so the next pass that touches the phone sends it
//! again under the same id (consumers drop it as a repeat) and marks it sent. The first
//! release sent that request at a time it did not record: such an entry says so
//! (`earlierRequest`, written by the backfill, read from any first-release item), and its
//! `requestSentAt` is the resend's time, from which no business days are counted.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::adapters::dynamodb::item::{VERSION, versioned};
use crate::adapters::failure::{classify, condition_held};
use crate::core::domain::{Phone, Timestamp};
use crate::core::register::{
    DncReason, DncSignalRecord, DncSource, EARLIER_RELEASE_REQUEST, Evidence, RECENT_SIGNAL_IDS,
    RegisterEntry, RequestState, StoredSignal,
};
use crate::ports::{BackendError, DncRegisterStore, RegisterSaveError};

pub const REGISTER_KEY: &str = "phone";
/// The sparse index of pending requests: partition key [`PENDING_KEY`] (present only while
/// pending: one of [`PENDING_SHARDS`] values, [`pending_key`]), sort key [`PENDING_SINCE`].
pub const PENDING_INDEX: &str = "byPendingRequest";
pub const PENDING_KEY: &str = "pendingRequest";
pub const PENDING_SINCE: &str = "pendingSince";
/// The request state `pending`; also the index key that entries written before the index
/// was sharded still carry (the sweep queries it too).
pub const PENDING: &str = RequestState::PENDING;
/// How many index key values pending entries spread over: a wave of opt-outs writes to as
/// many index partitions, not one (BENCHMARKS.md prices the sweep's queries).
pub const PENDING_SHARDS: u32 = 8;
pub const REQUEST_STATE: &str = "requestState";
pub const REQUEST_SENT_AT: &str = "requestSentAt";
pub const REQUEST_REFUSED: &str = "requestRefused";
pub const EARLIER_REQUEST: &str = "earlierRequest";
pub const SENT: &str = RequestState::SENT;
pub const REFUSED: &str = RequestState::REFUSED;

/// The pending index's key value for a phone: `pending#0` to `pending#7`, fixed per phone.
pub fn pending_key(phone: &str) -> String {
    let hash = phone
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{PENDING}#{}", hash % PENDING_SHARDS)
}

/// Every key value the sweep queries: each shard's, and the unsharded one of earlier
/// entries.
pub fn pending_keys() -> impl Iterator<Item = String> {
    (0..PENDING_SHARDS)
        .map(|shard| format!("{PENDING}#{shard}"))
        .chain(std::iter::once(PENDING.to_owned()))
}

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
    /// A first request an earlier release sent at a time it did not record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    earlier_request: Option<String>,
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
        RequestState::Refused { why } => (REFUSED, None, None, Some(why.clone())),
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
        pending_request: pending_since.as_ref().map(|_| pending_key(phone.as_str())),
        pending_since,
        request_refused: refused,
        earlier_request: entry.earlier_request.clone(),
        version,
    })
}

/// The entry and version a register item holds.
pub fn register_entry(
    item: HashMap<String, AttributeValue>,
) -> Result<(RegisterEntry, u64), serde_dynamo::Error> {
    let item: RegisterItem = serde_dynamo::from_item(item)?;
    // An item of the first release (no request state): its request was sent, when is not
    // known.
    let earlier_request = item.earlier_request.clone().or_else(|| {
        item.request_state
            .is_none()
            .then(|| EARLIER_RELEASE_REQUEST.to_owned())
    });
    let request = match (item.request_state.as_deref(), item.request_refused) {
        (Some(SENT), _) => RequestState::Sent {
            at: item.request_sent_at.unwrap_or_else(|| item.dnc_at.clone()),
        },
        (_, Some(why)) => RequestState::Refused { why },
        (Some(REFUSED), None) => RequestState::Refused {
            why: "refused (no reason kept)".to_owned(),
        },
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
        earlier_request,
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

    /// Sets the request's state in place (the evidence is not rewritten): `update` with
    /// its `names` and `values`, unless the request was sent already. Needs nothing
    /// of the item but its key, so it works on an entry this code cannot read.
    async fn set_request(
        &self,
        phone: &Phone,
        update: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
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
            .expression_attribute_values(":sent", AttributeValue::S(SENT.into()));
        for &(placeholder, name) in names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in values {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
        // A condition that did not hold: sent already, or not on the register.
        condition_held(
            request.send().await,
            "DynamoDB UpdateItem (DNC register request)",
            "DynamoDB refuses the register entry",
        )
        .map(|_| ())
    }
}

/// What a backfill of the pending index did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Entries that were pending (or of the first release, with no request state) and out
    /// of the index.
    pub found: usize,
    /// Of those, put in the index now (the others changed meanwhile).
    pub indexed: usize,
}

impl DynamoDncRegister {
    /// Puts every entry whose request is pending but which the sweep cannot see (written by
    /// the first release: no `requestState`, no index key) into the pending index, with a
    /// version bump: pending since `now` (the resend is what is pending: an entry pending
    /// since its signal, years ago, would page the pending alarm at the first sweep), and
    /// saying that the first release sent its request at a time it did not record. Idempotent: a second run finds nothing. One
    /// scan of the register (read only: keys and three attributes), one conditional update
    /// per entry found; `progress` hears each entry as it is handled.
    pub async fn backfill_pending(
        &self,
        now: Timestamp,
        mut progress: impl FnMut(&Backfilled),
    ) -> Result<Backfilled, BackendError> {
        let mut done = Backfilled::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk")
                .filter_expression(UNINDEXED)
                .expression_attribute_names("#pk", REGISTER_KEY)
                .expression_attribute_names("#state", REQUEST_STATE)
                .expression_attribute_names("#pending", PENDING_KEY)
                .expression_attribute_values(":pending", AttributeValue::S(PENDING.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Scan (DNC register)",
                        "the register cannot be read",
                        e,
                    )
                })?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                let Some(phone) = text(REGISTER_KEY) else {
                    continue;
                };
                done.found += 1;
                if self.index_pending(&phone, now).await? {
                    done.indexed += 1;
                }
                progress(&done);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(done);
            }
        }
    }

    /// One entry into the index, if it is still pending and out of it.
    async fn index_pending(&self, phone: &str, now: Timestamp) -> Result<bool, BackendError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.to_owned()))
            .update_expression(
                "SET #state = :pending, #pending = :key, #since = :since, \
                 #earlier = if_not_exists(#earlier, :earlier), \
                 #version = if_not_exists(#version, :zero) + :one",
            )
            .condition_expression(format!("attribute_exists(#pk) AND ({UNINDEXED})"))
            .expression_attribute_names("#pk", REGISTER_KEY)
            .expression_attribute_names("#state", REQUEST_STATE)
            .expression_attribute_names("#pending", PENDING_KEY)
            .expression_attribute_names("#since", PENDING_SINCE)
            .expression_attribute_names("#earlier", EARLIER_REQUEST)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":pending", AttributeValue::S(PENDING.into()))
            .expression_attribute_values(":key", AttributeValue::S(pending_key(phone)))
            .expression_attribute_values(":since", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(
                ":earlier",
                AttributeValue::S(EARLIER_RELEASE_REQUEST.to_owned()),
            )
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        condition_held(
            written,
            "DynamoDB UpdateItem (DNC register backfill)",
            "DynamoDB refuses the register entry",
        )
    }
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// One register item as `prove` and `export` read it: its phone, and its entry or why this
/// code cannot read it.
pub type ReadItem = (String, Result<RegisterEntry, String>);

fn read_item(item: HashMap<String, AttributeValue>) -> ReadItem {
    let phone = item
        .get(REGISTER_KEY)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let entry = register_entry(item)
        .map(|(entry, _)| entry)
        .map_err(|e| e.to_string());
    (phone, entry)
}

/// Read only, for the operator's `prove` and `export` (docs/contract.md §8).
impl DynamoDncRegister {
    /// The phone's item as stored (one consistent GetItem): what the relay's load and
    /// `prove` read.
    async fn item(
        &self,
        phone: &Phone,
    ) -> Result<Option<HashMap<String, AttributeValue>>, BackendError> {
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
        Ok(output.item)
    }

    /// The phone's entry (one consistent GetItem), or why it cannot be read.
    pub async fn find(
        &self,
        phone: &Phone,
    ) -> Result<Option<Result<RegisterEntry, String>>, BackendError> {
        Ok(self.item(phone).await?.map(|item| read_item(item).1))
    }

    /// How many entries DynamoDB last counted (it recounts about every six hours): for a
    /// progress bar, `None` if the table cannot be described.
    pub async fn approximate_entries(&self) -> Option<u64> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .ok()?;
        output.table?.item_count.and_then(|n| u64::try_from(n).ok())
    }

    /// Every entry, by a parallel scan of `segments` segments, each page sent to `pages` as
    /// it comes (the channel's bound keeps memory flat whatever the register's size). Stops
    /// at the first segment that fails, or when `pages` is closed.
    pub async fn scan_all(
        &self,
        segments: u32,
        pages: tokio::sync::mpsc::Sender<Vec<ReadItem>>,
    ) -> Result<(), BackendError> {
        let segments = segments.max(1);
        let mut scans = tokio::task::JoinSet::new();
        for segment in 0..segments {
            let (register, pages) = (self.clone(), pages.clone());
            scans.spawn(async move { register.scan_segment(segment, segments, pages).await });
        }
        drop(pages);
        while let Some(done) = scans.join_next().await {
            let failed = match done {
                Ok(result) => result.err(),
                Err(e) => Some(BackendError::new(
                    "scanning the DNC register",
                    e.to_string(),
                )),
            };
            if let Some(e) = failed {
                scans.abort_all();
                return Err(e);
            }
        }
        Ok(())
    }

    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        pages: tokio::sync::mpsc::Sender<Vec<ReadItem>>,
    ) -> Result<(), BackendError> {
        let as_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(as_i32(segment))
                .total_segments(as_i32(segments))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Scan (DNC register)",
                        "the register cannot be read",
                        e,
                    )
                })?;
            let items = page.items.unwrap_or_default();
            if !items.is_empty()
                && pages
                    .send(items.into_iter().map(read_item).collect())
                    .await
                    .is_err()
            {
                return Ok(());
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }
}

/// An entry whose request is pending (or of the first release: no request state at all)
/// but which is out of the pending index.
const UNINDEXED: &str =
    "(attribute_not_exists(#state) OR #state = :pending) AND attribute_not_exists(#pending)";

impl DncRegisterStore for DynamoDncRegister {
    async fn load(&self, phone: &Phone) -> Result<Option<(RegisterEntry, u64)>, BackendError> {
        self.item(phone).await?.map(read_entry).transpose()
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
        let written = condition_held(
            request.send().await,
            "DynamoDB PutItem (DNC register)",
            "DynamoDB refuses the register entry",
        )?;
        written.then_some(()).ok_or(RegisterSaveError::Conflict)
    }

    async fn mark_sent(&self, phone: &Phone, at: Timestamp) -> Result<(), BackendError> {
        self.set_request(
            phone,
            "SET #state = :sent, #sentAt = :at, #version = #version + :one \
             REMOVE #pending, #since, #refused",
            &[
                ("#sentAt", REQUEST_SENT_AT),
                ("#version", VERSION),
                ("#pending", PENDING_KEY),
                ("#since", PENDING_SINCE),
                ("#refused", REQUEST_REFUSED),
            ],
            &[(":at", text(&at.to_rfc3339())), (":one", number(1))],
        )
        .await
    }

    async fn mark_refused(&self, phone: &Phone, why: &str) -> Result<(), BackendError> {
        let names = [
            ("#refused", REQUEST_REFUSED),
            ("#pending", PENDING_KEY),
            ("#since", PENDING_SINCE),
        ];
        let values = [(":refused", text(REFUSED)), (":why", text(why))];
        let versioned = self
            .set_request(
                phone,
                "SET #state = :refused, #refused = :why, \
                 #version = if_not_exists(#version, :zero) + :one REMOVE #pending, #since",
                &[names.as_slice(), &[("#version", VERSION)]].concat(),
                &[
                    values.as_slice(),
                    &[(":zero", number(0)), (":one", number(1))],
                ]
                .concat(),
            )
            .await;
        match versioned {
            // A version this code cannot add to (a damaged entry): out of the sweep's index
            // all the same, which is what matters to the sweep.
            Err(e) if e.is_permanent() => {
                self.set_request(
                    phone,
                    "SET #state = :refused, #refused = :why REMOVE #pending, #since",
                    &names,
                    &values,
                )
                .await
            }
            other => other,
        }
    }

    async fn pending(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        let mut pending = Vec::new();
        for key in pending_keys() {
            let mut start = None;
            let mut found = 0;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(PENDING_INDEX)
                    .key_condition_expression("#pending = :pending AND #since <= :before")
                    .expression_attribute_names("#pending", PENDING_KEY)
                    .expression_attribute_names("#since", PENDING_SINCE)
                    .expression_attribute_values(":pending", AttributeValue::S(key.clone()))
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
                    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                    if let (Some(phone), Some(since)) = (text(REGISTER_KEY), text(PENDING_SINCE)) {
                        found += 1;
                        pending.push((since, phone));
                    }
                }
                start = output.last_evaluated_key;
                if start.is_none() || found >= limit {
                    break;
                }
            }
        }
        Ok(oldest_first(pending, limit))
    }
}

/// Up to `limit` of `(pending since, phone)` pairs as `(phone, since)`, the longest pending
/// first. An index key that is not a phone is passed over (this code cannot write one).
pub fn oldest_first(mut pending: Vec<(String, String)>, limit: usize) -> Vec<(Phone, String)> {
    pending.sort();
    pending
        .into_iter()
        .filter_map(|(since, phone)| Some((Phone::parse(&phone).ok()?, since)))
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_spread_over_every_index_key_and_a_phone_keeps_its_key() {
        let mut counts = [0usize; PENDING_SHARDS as usize];
        for i in 0..8000 {
            let key = pending_key(&format!("+1202555{i:04}"));
            assert_eq!(key, pending_key(&format!("+1202555{i:04}")));
            let shard: usize = key.trim_start_matches("pending#").parse().unwrap();
            counts[shard] += 1;
        }
        assert!(
            counts.iter().all(|&n| (700..1300).contains(&n)),
            "{counts:?}"
        );
        let keys: Vec<String> = pending_keys().collect();
        assert_eq!(keys.len(), PENDING_SHARDS as usize + 1);
        assert!(
            keys.contains(&PENDING.to_owned()),
            "the unsharded key of earlier entries"
        );
    }
}
