//! The relay function's triggers, told apart by the event's shape:
//! - a batch of the lead table's DynamoDB stream records (as `aws_lambda_events` types
//!   them): relayed; a partial batch response names the record Lambda must retry from;
//! - an SQS batch from the relay's on-failure queue (Lambda's records of batches it gave up
//!   on): each redriven ([`crate::usecases::redrive`]); a partial batch response names the
//!   ones to try again;
//! - EventBridge's scheduled event: the sweep of pending DNC requests.

use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::core::decided::{Change, Decided, Unreadable};
use crate::core::domain::Timestamp;
use crate::ports::{DncRegisterStore, MessagePublisher, ParkingLot, StreamBatch, StreamShards};
use crate::telemetry::{RelayRun, error_chain, relay_log_line_of};
use crate::usecases::redrive::{Redriven, redrive};
use crate::usecases::relay::{BatchReport, RedriveReport, Relay, SweepStop, parked};

/// Reads what a write decided from a stream record's new image: the lead table's item
/// codec, handed over by the wiring ([`crate::app`]); the redrive's reader uses the same.
pub type ImageDecoder = fn(serde_dynamo::Item) -> Result<Decided, Unreadable>;

/// What a redrive keeps of the invocation's time to relay the batch once it is read
/// ([`crate::usecases::redrive::RELAY_AFTER_READ`]) and to answer.
pub const REDRIVE_RELAY_RESERVE: Duration = Duration::from_secs(10);
/// What a sweep keeps of the invocation's time to write its line.
pub const SWEEP_RESERVE: Duration = Duration::from_secs(3);
/// What a stream batch keeps of the invocation's time to answer (the records not relayed
/// by then come again), so that Lambda never kills it and retries the whole batch.
pub const BATCH_RESERVE: Duration = Duration::from_secs(2);

/// Lambda's on-failure record of a DynamoDB stream batch (what it sends to the queue).
#[derive(Debug, Clone, Deserialize)]
pub struct OnFailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: StreamBatch,
}

/// What invoked the relay function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Stream,
    Redrive,
    Sweep,
}

impl Trigger {
    /// Tells the event apart: `Records` of `aws:dynamodb` or `aws:sqs`, or a scheduled
    /// event (`source: aws.events` or `detail-type: Scheduled Event`).
    pub fn of(event: &Value) -> Option<Self> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            let source = records
                .first()
                .and_then(|r| r.get("eventSource"))
                .and_then(Value::as_str);
            return match source {
                Some("aws:sqs") => Some(Self::Redrive),
                // An empty batch is nothing to do, whichever the source.
                Some("aws:dynamodb") | None => Some(Self::Stream),
                Some(_) => None,
            };
        }
        let scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events")
            || event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
        scheduled.then_some(Self::Sweep)
    }
}

pub struct StreamHandler<P, R, K, S> {
    relay: Relay<P, R, K>,
    shards: S,
    decode: ImageDecoder,
}

impl<P, R, K, S> StreamHandler<P, R, K, S>
where
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot,
    S: StreamShards,
{
    pub fn new(relay: Relay<P, R, K>, shards: S, decode: ImageDecoder) -> Self {
        Self {
            relay,
            shards,
            decode,
        }
    }

    /// The relay use cases behind the triggers.
    pub fn relay(&self) -> &Relay<P, R, K> {
        &self.relay
    }

    /// Any of the function's events, with the invocation's `deadline`: the answer Lambda
    /// expects for it, or an error (an unknown event, a sweep stopped by a failure) for the
    /// invocation to fail. Every invocation writes its line, also when it stops short.
    pub async fn handle_event(
        &self,
        event: Value,
        deadline: tokio::time::Instant,
    ) -> Result<Value, String> {
        let trigger = Trigger::of(&event).ok_or("not a stream, on-failure or scheduled event")?;
        let started = Instant::now();
        let (answer, run, stopped) = match trigger {
            Trigger::Stream => {
                let event: Event = serde_json::from_value(event).map_err(|e| e.to_string())?;
                let by = deadline.checked_sub(BATCH_RESERVE).unwrap_or(deadline);
                let (response, report) = self.respond(event, by).await;
                (
                    serde_json::to_value(response),
                    RelayRun::Batch(report),
                    None,
                )
            }
            Trigger::Redrive => {
                let event: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
                let read_by = deadline
                    .checked_sub(REDRIVE_RELAY_RESERVE)
                    .unwrap_or(deadline);
                let (response, report) = self.redrive(event, read_by).await;
                (
                    serde_json::to_value(response),
                    RelayRun::Redrive(report),
                    None,
                )
            }
            Trigger::Sweep => {
                let by = deadline.checked_sub(SWEEP_RESERVE).unwrap_or(deadline);
                let swept = self.relay.sweep(Timestamp::now(), by).await;
                // EventBridge ignores the answer; a smoke test reads it.
                let answer = serde_json::json!({
                    "swept": swept.stopped.is_none(),
                    "pendingFound": swept.report.pending_found,
                    "dncRequestsSent": swept.report.dnc_sent,
                });
                (Ok(answer), RelayRun::Sweep(swept.report), swept.stopped)
            }
        };
        let why = stopped.as_ref().map(|stop| stop.to_string());
        println!(
            "{}",
            relay_log_line_of(
                &run,
                why.as_deref(),
                started.elapsed(),
                chrono::Utc::now().timestamp_millis()
            )
        );
        match stopped {
            // A sweep out of time is no failure: the next one, a minute later, goes on.
            Some(SweepStop::OutOfTime(why)) => {
                tracing::warn!(why, "the sweep ran out of time; the next one goes on");
            }
            // Not retried: the next sweep is a minute away (template.yaml, EventInvokeConfig).
            Some(SweepStop::Failed(why)) => {
                tracing::error!(error = %why, "the sweep stopped; the next one goes on");
                return Err(why);
            }
            None => {}
        }
        answer.map_err(|e| e.to_string())
    }

    /// Relays a stream batch until `by`; the partial batch response names the record to
    /// retry from.
    pub async fn respond(
        &self,
        event: Event,
        by: tokio::time::Instant,
    ) -> (DynamoDbEventResponse, BatchReport) {
        let decode = self.decode;
        let changes: Vec<Change> = event
            .records
            .into_iter()
            .map(|record| change(record, decode))
            .collect();
        let report = self.relay.relay(&changes, by).await;
        let mut response = DynamoDbEventResponse::default();
        if let Some(sequence_number) = &report.retry_from {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number.clone());
            response.batch_item_failures.push(failure);
        }
        (response, report)
    }

    /// Redrives each on-failure record of the SQS batch, reading the stream until
    /// `read_by`; the ones not done come back. A message that is not an on-failure record
    /// is parked in the lead table for a person (it must have meant something) rather than
    /// retried forever.
    pub async fn redrive(
        &self,
        event: SqsEvent,
        read_by: tokio::time::Instant,
    ) -> (SqsBatchResponse, RedriveReport) {
        let mut total = RedriveReport::default();
        let mut response = SqsBatchResponse::default();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.unwrap_or_default();
            let outcome = match serde_json::from_str::<OnFailureRecord>(&body) {
                Ok(record) => redrive(&self.shards, &self.relay, &record.batch, read_by).await,
                Err(e) => {
                    let reason = format!("not an on-failure record of the stream: {e}");
                    match self.relay.lot().park(&parked(&reason, &body)).await {
                        Ok(()) => {
                            total.counts.parked += 1;
                            total.counts.parked_in_table += 1;
                            continue;
                        }
                        Err(e) => Redriven::Retry {
                            why: error_chain(&e),
                            report: BatchReport::default(),
                        },
                    }
                }
            };
            match outcome {
                Redriven::Relayed(report) => {
                    total.counts += report.counts;
                    total.redriven += 1;
                }
                Redriven::Gap => total.gaps += 1,
                Redriven::Retry { why, report } => {
                    tracing::warn!(message_id = %id, why, "redrive not done: it comes back");
                    total.counts += report.counts;
                    total.deferred += 1;
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        (response, total)
    }
}

fn change(record: EventRecord, decode: ImageDecoder) -> Change {
    let sequence_number = record
        .change
        .sequence_number
        .unwrap_or_else(|| record.event_id.clone());
    Change {
        sequence_number,
        // A REMOVE (time to live, or by hand) has no new image: it decided nothing.
        decided: decode(record.change.new_image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lambdas_on_failure_record_reads_as_a_batch() {
        let record = r#"{
            "requestContext": {"requestId": "r", "functionArn": "arn:aws:lambda:us-east-1:1:function:relay",
                "condition": "RecordAgeExceeded", "approximateInvokeCount": 3},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0", "timestamp": "2026-11-26T01:00:00.000Z",
            "DDBStreamBatchInfo": {"shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362", "endSequenceNumber": "800000000003126276370",
                "approximateArrivalOfFirstRecord": "2026-11-26T00:00:00Z",
                "approximateArrivalOfLastRecord": "2026-11-26T00:00:01Z", "batchSize": 3,
                "streamArn": "arn:aws:dynamodb:us-east-1:1:table/leads/stream/2026-01-01T00:00:00.000"}
        }"#;
        let record: OnFailureRecord = serde_json::from_str(record).unwrap();
        assert_eq!(record.batch.start_sequence_number, "800000000003126276362");
        assert_eq!(record.batch.batch_size, Some(3));
        let gap = crate::usecases::redrive::gap(&record.batch, "trimmed");
        assert_eq!(gap.kind, "stream-gap");
        assert!(gap.body.contains("shardId-00000001573689847184-864758bb"));
        assert!(gap.body.contains("approximateArrivalOfFirstRecord"));
    }

    #[test]
    fn each_trigger_is_told_apart_by_its_shape() {
        let stream = json!({"Records": [{"eventSource": "aws:dynamodb"}]});
        let sqs = json!({"Records": [{"eventSource": "aws:sqs"}]});
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(Trigger::of(&stream), Some(Trigger::Stream));
        assert_eq!(Trigger::of(&sqs), Some(Trigger::Redrive));
        assert_eq!(Trigger::of(&schedule), Some(Trigger::Sweep));
        assert_eq!(Trigger::of(&json!({"Records": []})), Some(Trigger::Stream));
        assert_eq!(Trigger::of(&json!({"hello": 1})), None);
        assert_eq!(
            Trigger::of(&json!({"Records": [{"eventSource": "aws:s3"}]})),
            None
        );
    }
}
