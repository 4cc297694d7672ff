//! The relay function's triggers, told apart by the event's shape:
//! - a batch of the lead table's DynamoDB stream records (as `aws_lambda_events` types
//!   them): relayed; a partial batch response names the record Lambda must retry from;
//! - an SQS batch from the relay's on-failure queue: S3's notices of the objects Lambda
//!   wrote to the on-failure bucket (each the record of a batch it gave up on, with the
//!   batch's records), or, from a release before the bucket, Lambda's own on-failure records
//!   (positions in the stream): each redriven ([`crate::usecases::redrive`]); a partial batch
//!   response names the ones to try again;
//! - EventBridge's scheduled event: the sweep of pending DNC requests.

use std::time::Instant;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::core::decided::{Change, Decided, Unreadable};
use crate::core::domain::Timestamp;
use crate::ports::{
    DncRegisterStore, FailureArchive, MessagePublisher, Parked, ParkingLot, RelayLedger,
    StreamBatch, StreamShards,
};
use crate::telemetry::{RelayRun, error_chain, relay_log_line_of};
use crate::usecases::redrive::{Redriven, redrive, redrive_kept};
use crate::usecases::relay::{BatchReport, RedriveReport, Relay, SweepStop, parked};

/// Reads what a write decided from a stream record's new image: the lead table's item
/// codec, handed over by the wiring ([`crate::app`]); the redrive's reader uses the same.
pub type ImageDecoder = fn(serde_dynamo::Item) -> Result<Decided, Unreadable>;

pub use crate::usecases::deadlines::{
    BATCH_RESERVE, REDRIVE_RELAY_RESERVE, RELAY_AFTER_READ, SWEEP_RESERVE,
};

/// Lambda's on-failure record of a DynamoDB stream batch: where the batch was, and, in the
/// object it writes to an S3 destination, the invocation's whole event (`payload`: the
/// batch's records, as the function was invoked with them; a JSON object, or a string that
/// holds one).
#[derive(Debug, Clone, Deserialize)]
pub struct OnFailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: StreamBatch,
    #[serde(default)]
    pub payload: Option<Value>,
}

impl OnFailureRecord {
    /// The batch's records, if the record holds them (`Ok(None)`: it names them only, as
    /// an SQS destination's record does); why not, if it holds them unreadably.
    pub fn records(&self) -> Result<Option<Event>, String> {
        let payload = match self.payload.as_ref() {
            None => return Ok(None),
            Some(Value::String(text)) => {
                serde_json::from_str(text).map_err(|e| format!("its payload is not JSON: {e}"))?
            }
            Some(payload) => payload.clone(),
        };
        serde_json::from_value(payload)
            .map(Some)
            .map_err(|e| format!("its payload is not a stream event: {e}"))
    }
}

/// What a message on the relay's on-failure queue is.
#[derive(Debug, Clone)]
pub enum FailureNotice {
    /// S3's notice of objects written to the on-failure bucket: (bucket, key) each.
    Objects(Vec<(String, String)>),
    /// Lambda's on-failure record itself (an SQS destination, before the bucket).
    Record(Box<OnFailureRecord>),
    /// S3's test message, sent when the bucket's notification is set up: nothing to do.
    Test,
}

impl FailureNotice {
    pub fn of(body: &str) -> Result<Self, String> {
        if let Ok(record) = serde_json::from_str::<OnFailureRecord>(body) {
            return Ok(Self::Record(Box::new(record)));
        }
        let value: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
        if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Self::Test);
        }
        let notice: S3Notice = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let objects: Vec<(String, String)> = notice
            .records
            .into_iter()
            .map(|r| (r.s3.bucket.name, object_key(&r.s3.object.key)))
            .collect();
        match objects.is_empty() {
            true => Err("neither an on-failure record nor an S3 notice of one".into()),
            false => Ok(Self::Objects(objects)),
        }
    }
}

/// What the redrive reads of S3's event notification: each record's bucket and object key
/// (the rest, `userIdentity`, `requestParameters` and more, is S3's own business).
#[derive(Debug, Deserialize)]
struct S3Notice {
    #[serde(rename = "Records")]
    records: Vec<S3NoticeRecord>,
}

#[derive(Debug, Deserialize)]
struct S3NoticeRecord {
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
}

/// An object key as S3's event notifications write it: URL-encoded, `+` for a space.
fn object_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
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

pub struct StreamHandler<P, R, K, S, A> {
    relay: Relay<P, R, K>,
    shards: S,
    archive: A,
    decode: ImageDecoder,
}

impl<P, R, K, S, A> StreamHandler<P, R, K, S, A>
where
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot + RelayLedger,
    S: StreamShards,
    A: FailureArchive,
{
    pub fn new(relay: Relay<P, R, K>, shards: S, archive: A, decode: ImageDecoder) -> Self {
        Self {
            relay,
            shards,
            archive,
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
                    "dncRequestsSent": swept.report.counts.dnc_sent,
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

    /// What each record of a stream event decided: a batch Lambda hands over, or one it
    /// kept in the on-failure bucket.
    fn changes(&self, event: Event) -> Vec<Change> {
        let decode = self.decode;
        event
            .records
            .into_iter()
            .map(|record| change(record, decode))
            .collect()
    }

    /// Relays a stream batch until `by`; the partial batch response names the record to
    /// retry from.
    pub async fn respond(
        &self,
        event: Event,
        by: tokio::time::Instant,
    ) -> (DynamoDbEventResponse, BatchReport) {
        let changes = self.changes(event);
        let report = self.relay.relay(&changes, by).await;
        let mut response = DynamoDbEventResponse::default();
        if let Some(sequence_number) = &report.retry_from {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number.clone());
            response.batch_item_failures.push(failure);
        }
        (response, report)
    }

    /// Redrives each notice of the SQS batch: the batches Lambda kept whole in the bucket,
    /// or read from the stream until `read_by` (a record of positions, or an object whose
    /// records cannot be read); the ones not done come back. A message that is neither is
    /// parked in the lead table for a person (it must have meant something) rather than
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
            let outcomes = match FailureNotice::of(&body) {
                Ok(FailureNotice::Test) => continue,
                Ok(FailureNotice::Record(record)) => {
                    let from = format!("the relay failure queue's message {id}");
                    vec![self.redrive_record(&record, &from, read_by).await]
                }
                Ok(FailureNotice::Objects(objects)) => {
                    let mut outcomes = Vec::new();
                    for (bucket, key) in &objects {
                        outcomes.push(self.redrive_object(bucket, key, read_by).await);
                    }
                    outcomes
                }
                Err(e) => {
                    let reason = format!("not an on-failure record of the stream: {e}");
                    match self.relay.lot().park(&parked(&reason, &body)).await {
                        Ok(()) => {
                            total.counts.parked += 1;
                            total.counts.parked_in_table += 1;
                            continue;
                        }
                        Err(e) => vec![Redriven::Retry {
                            why: error_chain(&e),
                            report: BatchReport::default(),
                        }],
                    }
                }
            };
            let mut again = false;
            for outcome in outcomes {
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
                        again = true;
                    }
                }
            }
            if again {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        (response, total)
    }

    /// A batch's on-failure record (`from`: where it is kept): its records if it holds them,
    /// else read from the stream; a gap then says where the unreadable ones are kept.
    async fn redrive_record(
        &self,
        record: &OnFailureRecord,
        from: &str,
        read_by: tokio::time::Instant,
    ) -> Redriven {
        let kept = match record.records() {
            Ok(Some(event)) => {
                let changes = self.changes(event);
                return redrive_kept(&self.relay, &changes, read_by + RELAY_AFTER_READ).await;
            }
            Ok(None) => None,
            Err(why) => {
                tracing::error!(
                    from,
                    why,
                    "a kept batch cannot be read: read from the stream"
                );
                Some(format!("{from} (unreadable here: {why})"))
            }
        };
        let (shards, relay) = (&self.shards, &self.relay);
        redrive(shards, relay, &record.batch, kept.as_deref(), read_by).await
    }

    /// An object of the on-failure bucket: the record Lambda wrote there.
    async fn redrive_object(
        &self,
        bucket: &str,
        key: &str,
        read_by: tokio::time::Instant,
    ) -> Redriven {
        let fetched = tokio::time::timeout_at(read_by, self.archive.fetch(bucket, key)).await;
        let bytes = match fetched {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => {
                let reason = format!(
                    "the on-failure bucket no longer holds s3://{bucket}/{key}: a given-up \
                     stream batch whose records cannot be read again"
                );
                return self.gap(reason, key).await;
            }
            Ok(Err(e)) => return Redriven::retry_because(error_chain(&e)),
            Err(_) => return Redriven::retry_because("out of time reading the bucket".into()),
        };
        match serde_json::from_slice::<OnFailureRecord>(&bytes) {
            Ok(record) => {
                let from = format!("s3://{bucket}/{key}");
                self.redrive_record(&record, &from, read_by).await
            }
            Err(e) => {
                let reason = format!("s3://{bucket}/{key} is not an on-failure record: {e}");
                self.gap(reason, key).await
            }
        }
    }

    /// Writes down what cannot be redriven, for a person.
    async fn gap(&self, reason: String, body: &str) -> Redriven {
        tracing::error!(
            reason,
            "a given-up stream batch cannot be redriven: written down"
        );
        let gap = Parked {
            kind: "stream-gap",
            at: Timestamp::now().to_rfc3339(),
            reason,
            body: body.to_owned(),
        };
        match self.relay.lot().park(&gap).await {
            Ok(()) => Redriven::Gap,
            Err(e) => Redriven::retry_because(error_chain(&e)),
        }
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
        let gap = crate::usecases::redrive::gap(&record.batch, "trimmed", Some("s3://b/k"));
        assert!(gap.reason.contains("kept in s3://b/k"));
        assert_eq!(gap.kind, "stream-gap");
        assert!(gap.body.contains("shardId-00000001573689847184-864758bb"));
        assert!(gap.body.contains("approximateArrivalOfFirstRecord"));
    }

    #[test]
    fn each_notice_on_the_failure_queue_is_told_apart() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T01:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}"#;
        assert!(matches!(FailureNotice::of(test), Ok(FailureNotice::Test)));
        let notice = json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-12-06T01:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                "bucket": {"name": "relay-failures", "arn": "arn:aws:s3:::relay-failures"},
                "object": {"key": "aws/lambda/uuid/shardId-0001/2026/12/06/2026-12-06T01.00.00-a%2Bb+c", "size": 10}}
        }]});
        let Ok(FailureNotice::Objects(objects)) = FailureNotice::of(&notice.to_string()) else {
            panic!("not read as S3's notice");
        };
        assert_eq!(
            objects,
            [(
                "relay-failures".to_owned(),
                "aws/lambda/uuid/shardId-0001/2026/12/06/2026-12-06T01.00.00-a+b c".to_owned()
            )]
        );
        let record = r#"{"DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1",
            "endSequenceNumber": "2", "streamArn": "arn"}}"#;
        let Ok(FailureNotice::Record(record)) = FailureNotice::of(record) else {
            panic!("not read as Lambda's record");
        };
        assert!(matches!(record.records(), Ok(None)), "positions only");
        assert!(FailureNotice::of(r#"{"hello": 1}"#).is_err());
        assert!(FailureNotice::of("not json").is_err());
    }

    #[test]
    fn a_kept_batchs_records_are_read_whether_its_payload_is_an_object_or_a_string() {
        let event = json!({"Records": [{"eventID": "1", "eventName": "INSERT",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"SequenceNumber": "100", "Keys": {}, "NewImage": {}, "SizeBytes": 1,
                "StreamViewType": "NEW_AND_OLD_IMAGES"}}]});
        let batch = json!({"shardId": "s", "startSequenceNumber": "100",
            "endSequenceNumber": "100", "streamArn": "arn"});
        for payload in [event.clone(), json!(event.to_string())] {
            let body = json!({"DDBStreamBatchInfo": batch, "payload": payload}).to_string();
            let Ok(FailureNotice::Record(record)) = FailureNotice::of(&body) else {
                panic!("not read as Lambda's record");
            };
            let records = record.records().map(|e| e.map(|e| e.records.len()));
            assert_eq!(records, Ok(Some(1)));
        }
        // A payload that holds no stream event is said so (and where it is kept, by the
        // gap), not taken for a record of positions only.
        let body = json!({"DDBStreamBatchInfo": batch, "payload": "{not json"}).to_string();
        let Ok(FailureNotice::Record(record)) = FailureNotice::of(&body) else {
            panic!("not read as Lambda's record");
        };
        assert!(record.records().is_err());
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
