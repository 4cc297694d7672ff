//! An opt-out a company service heard (an agent on a call, a text, an e-mail, ...),
//! recorded through the register's API (`POST /v1/opt-outs`, docs/contract.md §9): on the
//! register before the answer, as every signal joins it (earliest first, counted once),
//! owing the phone its DNC request unless one was sent; the same principal and reference
//! again adds nothing.

use call_events_messages::{ApiKind, ApiRecord};
use sha2::{Digest, Sha256};

use crate::core::api_request::OptOutRequest;
use crate::core::domain::{EventId, Timestamp};
use crate::core::lead::{DncSignal, SignalSource};
use crate::core::register::{DncReason, DncSignalRecord, RegisterEntry, Registered, register};
use crate::ports::{BackendError, DncRegisterStore, RegisterSaveError};

/// Who sent the request, as API Gateway says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The IAM principal's ARN.
    pub principal: String,
    pub source_ip: String,
    pub request_id: String,
}

/// Versioned writes before the register is left to the caller's retry (a `503`).
const TRIES: u32 = 8;

/// The signal's id: the same for the same principal and reference, whatever else the
/// request says, so a retry is known.
pub fn signal_id(principal: &str, reference: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(principal.as_bytes());
    hash.update([0]);
    hash.update(reference.as_bytes());
    format!("api_{}", &hex::encode(hash.finalize())[..32])
}

/// The opt-out as a register signal, with its record as evidence.
pub fn opt_out_signal(
    request: &OptOutRequest,
    caller: &Caller,
    body: &[u8],
    now: Timestamp,
) -> DncSignalRecord {
    let signal = DncSignal {
        phone: request.phone.clone(),
        campaign_id: None,
        external_lead_id: None,
        reason: DncReason::OptOut,
        at: request.occurred_at.unwrap_or(now),
        source: SignalSource {
            event_time: now,
            event_id: EventId::from_stored(signal_id(&caller.principal, &request.reference)),
        },
    };
    let record = ApiRecord {
        kind: ApiKind::Api,
        principal: caller.principal.clone(),
        channel: request.channel.as_str().to_owned(),
        reference: request.reference.clone(),
        source_ip: caller.source_ip.clone(),
        request_id: caller.request_id.clone(),
        received_at: now.to_rfc3339(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    DncSignalRecord {
        signal,
        evidence: record.into(),
    }
}

/// Records the opt-out; the phone's entry as it is once it is on the register.
pub async fn record_opt_out(
    register_store: &impl DncRegisterStore,
    signal: &DncSignalRecord,
    now: Timestamp,
) -> Result<RegisterEntry, BackendError> {
    let phone = signal.phone();
    let mut held = register_store.load(phone).await?;
    for _ in 0..TRIES {
        let (entry, version) = match held {
            Some((entry, version)) => (Some(entry), Some(version)),
            None => (None, None),
        };
        match register(entry.as_ref(), signal, now) {
            Registered::Known(entry) => return Ok(entry),
            Registered::Changed(entry) => match register_store.save(phone, &entry, version).await {
                Ok(()) => return Ok(entry),
                Err(RegisterSaveError::Conflict) => held = register_store.load(phone).await?,
                Err(RegisterSaveError::Backend(e)) => return Err(e),
            },
        }
    }
    Err(BackendError::new(
        "recording an opt-out on the register",
        format!("the entry kept moving: {TRIES} versioned writes conflicted"),
    ))
}
