//! The messages this function puts on its queues. Their JSON Schemas are in `schemas/`.

use serde::{Deserialize, Serialize};

use crate::domain::{CampaignId, ExternalLeadId, Phone, Timestamp};
use crate::lead::{CallbackRequest, Source};

pub const SCHEMA_VERSION: u8 = 1;

/// Which queue a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    Callback,
    Dnc,
}

/// A message ready to send: its body is fixed when the effect is decided, so every
/// retry sends the very same bytes with the same `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMessage {
    pub queue: Queue,
    /// The idempotency key consumers use; also the FIFO deduplication id.
    pub id: String,
    #[serde(rename = "type")]
    pub message_type: String,
    /// `None` for a DNC request whose first signal was a legacy (v1) `dnc.created`.
    pub campaign_id: Option<String>,
    /// The phone: the FIFO message group, so one phone's messages stay in order.
    pub group: String,
    pub body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceBody<'a> {
    event_type: &'static str,
    event_time: String,
    event_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageBody<'a, T> {
    schema_version: u8,
    #[serde(rename = "type")]
    message_type: &'static str,
    id: &'a str,
    campaign_id: &'a str,
    phone: &'a str,
    external_lead_id: Option<&'a str>,
    #[serde(flatten)]
    details: T,
    source: SourceBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallbackDetails {
    scheduled_time: String,
}

pub const CALLBACK_TYPE: &str = "callback.scheduled";
pub const DNC_TYPE: &str = "dnc.requested";

impl From<&CallbackRequest> for QueueMessage {
    fn from(request: &CallbackRequest) -> Self {
        callback_message(request)
    }
}

fn callback_message(request: &CallbackRequest) -> QueueMessage {
    let details = CallbackDetails {
        scheduled_time: request.scheduled_time.to_rfc3339(),
    };
    message(
        Queue::Callback,
        CALLBACK_TYPE,
        &request.id,
        &request.campaign_id,
        &request.phone,
        request.external_lead_id.as_ref(),
        details,
        &request.source,
    )
}

#[allow(clippy::too_many_arguments)]
fn message<T: Serialize>(
    queue: Queue,
    message_type: &'static str,
    id: &str,
    campaign_id: &CampaignId,
    phone: &Phone,
    external_lead_id: Option<&ExternalLeadId>,
    details: T,
    source: &Source,
) -> QueueMessage {
    let body = MessageBody {
        schema_version: SCHEMA_VERSION,
        message_type,
        id,
        campaign_id: campaign_id.as_str(),
        phone: phone.as_str(),
        external_lead_id: external_lead_id.map(ExternalLeadId::as_str),
        details,
        source: SourceBody {
            event_type: source.event_type.as_str(),
            event_time: source.event_time.to_rfc3339(),
            event_id: source.event_id.as_str(),
        },
    };
    QueueMessage {
        queue,
        id: id.to_owned(),
        message_type: message_type.to_owned(),
        campaign_id: Some(campaign_id.as_str().to_owned()),
        group: phone.as_str().to_owned(),
        // Serializing plain strings and numbers into JSON cannot fail.
        body: serde_json::to_string(&body).unwrap_or_default(),
    }
}

/// An authentic body that could not be parsed, kept for replay by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineRecord {
    pub received_at: String,
    pub reason: String,
    /// The raw body as text (bytes that are not UTF-8 are replaced by U+FFFD).
    pub body: String,
    /// The `aktify-signature` header it came with, when it was a webhook request: a replayed
    /// DNC signal keeps it as its evidence. Absent in records of the first release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_header: Option<String>,
}

impl QuarantineRecord {
    pub fn new(received_at: Timestamp, reason: String, body: &[u8]) -> Self {
        Self {
            received_at: received_at.to_rfc3339(),
            reason,
            body: String::from_utf8_lossy(body).into_owned(),
            signature_header: None,
        }
    }

    /// The record of a webhook request, with the header it was signed with.
    pub fn signed(mut self, signature_header: Option<&str>) -> Self {
        self.signature_header = signature_header.map(str::to_owned);
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
