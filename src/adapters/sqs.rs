//! The queues on SQS. A queue whose URL ends in `.fifo` gets `MessageGroupId` (the phone:
//! one lead's messages stay in order) and `MessageDeduplicationId` (the message id); a
//! standard queue gets neither.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;

use crate::adapters::failure::classify;
use crate::core::messages::{
    OnTheWire, QuarantineRecord, Queue, QueueMessage, quarantine_on_the_wire,
};
use crate::ports::{BackendError, MessagePublisher, QuarantineQueue, Quarantined};

use super::QueueUrls;

#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: Client,
    urls: QueueUrls,
}

impl SqsPublisher {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self { client, urls }
    }

    async fn send_to(&self, url: &str, message: OnTheWire<'_>) -> Result<(), BackendError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(message.body);
        for (name, value) in message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| BackendError::new("building an SQS message attribute", e))?;
            request = request.message_attributes(name, value);
        }
        if url.ends_with(".fifo") {
            request = request
                .message_group_id(message.group)
                .message_deduplication_id(message.deduplication_id);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("SQS SendMessage", "SQS will not take the message", e))
    }
}

impl MessagePublisher for SqsPublisher {
    async fn send(&self, message: &QueueMessage) -> Result<(), BackendError> {
        let url = match message.queue {
            Queue::Callback => &self.urls.callback,
            Queue::Dnc => &self.urls.dnc,
        };
        self.send_to(url, message.on_the_wire()).await
    }

    async fn quarantine(&self, record: &QuarantineRecord) -> Result<(), BackendError> {
        self.send_to(&self.urls.quarantine, quarantine_on_the_wire(record))
            .await
    }
}

/// The quarantine queue, read by the replay command.
#[derive(Debug, Clone)]
pub struct SqsQuarantineQueue {
    client: Client,
    url: String,
}

impl SqsQuarantineQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl QuarantineQueue for SqsQuarantineQueue {
    async fn receive(&self) -> Result<Vec<Quarantined>, BackendError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            // Long enough to record a batch; what is left is released at the end.
            .visibility_timeout(120)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| BackendError::new("SQS ReceiveMessage", e))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Quarantined {
                message_id: m.message_id.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
                record: serde_json::from_str(m.body.as_deref().unwrap_or_default())
                    .map_err(|e| e.to_string()),
            })
            .collect())
    }

    async fn remove(&self, receipt: &str) -> Result<(), BackendError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BackendError::new("SQS DeleteMessage", e))
    }

    async fn release(&self, receipt: &str) -> Result<(), BackendError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BackendError::new("SQS ChangeMessageVisibility", e))
    }
}
