//! The register's one codec: an entry as its DynamoDB item, and back.

use super::*;

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
    evidence: SignalEvidence,
    /// When the first signal was imported: the earliest signed one, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signed_signal: Option<StoredSignal>,
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
    /// When a request an import owes is due ([`RequestState::PendingImport`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_due: Option<String>,
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
        RequestState::NotOwed => (NOT_OWED, None, None, None),
        RequestState::Pending { since } | RequestState::PendingImport { since, .. } => {
            (PENDING, None, Some(since.clone()), None)
        }
        RequestState::Sent { at } => (SENT, Some(at.clone()), None, None),
        RequestState::Refused { why } => (REFUSED, None, None, Some(why.clone())),
    };
    // An import's requests wait in their own keys of the index, read after the platform's.
    let (pending_request, request_due) = match &entry.request {
        RequestState::PendingImport { due, .. } => {
            (Some(imported_key(phone.as_str())), Some(due.clone()))
        }
        RequestState::Pending { .. } => (Some(pending_key(phone.as_str())), None),
        _ => (None, None),
    };
    serde_dynamo::to_item(RegisterItem {
        phone: phone.as_str().to_owned(),
        dnc_at,
        reason: first.reason,
        campaign_id: first.campaign_id,
        external_lead_id: first.external_lead_id,
        source: first.source,
        evidence: first.evidence,
        signed_signal: entry.signed.clone().map(StoredSignal::from),
        signals: entry.signals,
        first_signal_at: first.at,
        recent_signal_ids: entry.recent_signal_ids.iter().cloned().collect(),
        signal_ids: Vec::new(),
        request_state: Some(state.to_owned()),
        request_sent_at: sent_at,
        pending_request,
        pending_since,
        request_due,
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
    // An item of the first release (no request state, or backfilled since: it says so in
    // `earlierRequest`, whatever words an earlier release wrote there): no send recorded.
    let earlier_request = (item.earlier_request.is_some() || item.request_state.is_none())
        .then(|| EARLIER_RELEASE_REQUEST.to_owned());
    let request = match (item.request_state.as_deref(), item.request_refused) {
        (Some(SENT), _) => RequestState::Sent {
            at: item.request_sent_at.unwrap_or_else(|| item.dnc_at.clone()),
        },
        (Some(NOT_OWED), None) => RequestState::NotOwed,
        (_, Some(why)) => RequestState::Refused { why },
        (Some(REFUSED), None) => RequestState::Refused {
            why: "refused (no reason kept)".to_owned(),
        },
        _ => {
            let since = item.pending_since.unwrap_or_else(|| item.dnc_at.clone());
            match item.request_due {
                Some(due) => RequestState::PendingImport { since, due },
                None => RequestState::Pending { since },
            }
        }
    };
    let recent = known_ids(item.recent_signal_ids, item.signal_ids);
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
    let signed = item
        .signed_signal
        .map(DncSignalRecord::try_from)
        .transpose()
        .map_err(<serde_dynamo::Error as serde::de::Error>::custom)?;
    let entry = RegisterEntry {
        first,
        signed,
        signals: item.signals,
        recent_signal_ids: recent,
        request,
        earlier_request,
    };
    Ok((entry, item.version))
}

/// The signal ids an entry knows (a signal of one of them changes nothing): its
/// `recentSignalIds`, or a first-release item's `signalIds`, the latest
/// [`RECENT_SIGNAL_IDS`].
pub fn known_ids(recent: Vec<String>, first_release: Vec<String>) -> VecDeque<String> {
    let mut known: VecDeque<String> = match recent.is_empty() {
        true => first_release.into(),
        false => recent.into(),
    };
    while known.len() > RECENT_SIGNAL_IDS {
        known.pop_front();
    }
    known
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
