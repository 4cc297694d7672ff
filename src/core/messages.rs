//! The messages this function puts on its queues, as the outbox keeps them until the relay
//! sends them. Their JSON Schemas are in `schemas/`.
//!
//! The bodies are the types of `call-events-messages`, which consumers share.

use std::borrow::Cow;

use call_events_messages::{
    CallbackEventType, CallbackScheduled, CallbackSource, CallbackType, SchemaVersion, sqs_safe,
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

pub use call_events_messages::{CALLBACK_TYPE, DNC_TYPE, sqs_accepts};

/// A message as SQS is handed it: the body and string attributes hold only characters SQS
/// takes (docs/contract.md §5). The body is the same JSON value whatever it held (bodies
/// written by an earlier release may hold raw U+FFFE or U+FFFF); an attribute holding a
/// character SQS refuses carries it as `\uXXXX`, the exact value being in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnTheWire<'a> {
    pub body: Cow<'a, str>,
    pub attributes: Vec<(&'static str, Cow<'a, str>)>,
    /// FIFO only: the message group and the deduplication id.
    pub group: Cow<'a, str>,
    pub deduplication_id: Cow<'a, str>,
}

impl OnTheWire<'_> {
    /// Would SQS take it? Always, for what [`QueueMessage::on_the_wire`] and
    /// [`quarantine_on_the_wire`] give: the in-memory queues check it all the same.
    pub fn sqs_takes(&self) -> bool {
        let texts = [&self.body, &self.group, &self.deduplication_id];
        texts
            .into_iter()
            .chain(self.attributes.iter().map(|(_, value)| value))
            .all(|text| text.chars().all(sqs_accepts))
    }
}

impl QueueMessage {
    pub fn on_the_wire(&self) -> OnTheWire<'_> {
        // SQS refuses an empty attribute: a request from a legacy signal has no campaign.
        let mut attributes = vec![("type", sqs_safe(&self.message_type))];
        if let Some(campaign_id) = &self.campaign_id {
            attributes.push(("campaignId", sqs_safe(campaign_id)));
        }
        OnTheWire {
            body: sqs_safe(&self.body),
            attributes,
            group: sqs_safe(&self.group),
            deduplication_id: sqs_safe(&self.id),
        }
    }
}

/// A quarantine record as the quarantine queue is handed it. The contract's quarantine
/// queue is a standard queue; should it be FIFO, a digest of the record deduplicates
/// retries of the same delivery.
pub fn quarantine_on_the_wire(record: &QuarantineRecord) -> OnTheWire<'static> {
    let digest = crate::core::domain::short_digest(&[&record.received_at, &record.body]);
    OnTheWire {
        body: Cow::Owned(call_events_messages::to_json(record)),
        // SQS refuses empty attribute values, and an unparsable body has no campaign.
        attributes: vec![("type", Cow::Borrowed("quarantine"))],
        group: Cow::Borrowed("quarantine"),
        deduplication_id: Cow::Owned(digest),
    }
}

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
