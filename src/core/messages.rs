//! The messages this function puts on its queues, as the outbox keeps them until the relay
//! sends them. Their JSON Schemas are in `schemas/`.
//!
//! The bodies are the types of `call-events-messages`, which consumers share.

use call_events_messages::{
    CallbackEventType, CallbackScheduled, CallbackSource, CallbackType, SchemaVersion,
};
use serde::{Deserialize, Serialize};

use crate::core::lead::CallbackRequest;

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

pub use call_events_messages::{CALLBACK_TYPE, DNC_TYPE};

impl From<&CallbackRequest> for QueueMessage {
    fn from(request: &CallbackRequest) -> Self {
        let message = CallbackScheduled {
            schema_version: SchemaVersion,
            message_type: CallbackType::CallbackScheduled,
            id: request.id.clone(),
            campaign_id: request.campaign_id.as_str().to_owned(),
            phone: request.phone.as_str().to_owned(),
            external_lead_id: request
                .external_lead_id
                .as_ref()
                .map(|e| e.as_str().to_owned()),
            scheduled_time: request.scheduled_time.to_rfc3339(),
            source: CallbackSource {
                event_type: CallbackEventType::CallScheduled,
                event_time: request.source.event_time.to_rfc3339(),
                event_id: request.source.event_id.as_str().to_owned(),
            },
        };
        QueueMessage {
            queue: Queue::Callback,
            id: message.id.clone(),
            message_type: CALLBACK_TYPE.to_owned(),
            campaign_id: Some(message.campaign_id.clone()),
            group: message.phone.clone(),
            body: call_events_messages::to_json(&message),
        }
    }
}

/// An authentic body that could not be parsed, kept for replay by hand.
pub use call_events_messages::QuarantineRecord;
