//! The relay's trigger: a batch of the lead table's DynamoDB stream records (as
//! `aws_lambda_events` types them) in, a partial batch response out, naming the record
//! Lambda must retry from.

use std::time::Instant;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::ports::{DncRegisterStore, MessagePublisher};
use crate::relay::{Change, Relay, RelayReport};
use crate::store::item::committed;

pub struct StreamHandler<P, R> {
    relay: Relay<P, R>,
}

impl<P: MessagePublisher, R: DncRegisterStore> StreamHandler<P, R> {
    pub fn new(relay: Relay<P, R>) -> Self {
        Self { relay }
    }

    /// Relays the batch and writes its log line.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let started = Instant::now();
        let (response, report) = self.respond(event).await;
        println!(
            "{}",
            crate::telemetry::relay_log_line(
                &report,
                started.elapsed(),
                chrono::Utc::now().timestamp_millis()
            )
        );
        response
    }

    pub async fn respond(&self, event: Event) -> (DynamoDbEventResponse, RelayReport) {
        let changes: Vec<Change> = event.records.into_iter().map(change).collect();
        let report = self.relay.relay(&changes).await;
        let mut response = DynamoDbEventResponse::default();
        if let Some(sequence_number) = &report.retry_from {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number.clone());
            response.batch_item_failures.push(failure);
        }
        (response, report)
    }
}

fn change(record: EventRecord) -> Change {
    let sequence_number = record
        .change
        .sequence_number
        .unwrap_or_else(|| record.event_id.clone());
    Change {
        sequence_number,
        // A REMOVE (time to live, or by hand) has no new image: it decided nothing.
        committed: committed(record.change.new_image).map_err(|e| e.to_string()),
    }
}
