//! The redrive of stream batches Lambda gave up on (CONTRACT §5). After
//! `MaximumRecordAgeInSeconds` Lambda drops a failing batch and writes only where it was
//! (stream, shard, first and last sequence number) to the relay's on-failure queue. The
//! redrive reads those records again from the stream, while the stream still holds them
//! (24 h), and runs the relay over them: the same use case, so the same message ids, the
//! register's idempotency and FIFO deduplication make a second pass harmless.
//!
//! A batch that cannot be relayed yet (SQS still down) is tried again later (the message
//! comes back on the on-failure queue). A batch the stream no longer holds is a gap: it is
//! counted, alarmed, and written down in the lead table with what is known (shard, sequence
//! range, time range) for a person (README, "Operating"). The DNC requests of a gap are not
//! lost even then: the register keeps them pending and the sweep sends them.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;
use crate::ports::{BackendError, DncRegisterStore, MessagePublisher, Parked, ParkingLot};
use crate::relay::{Change, Relay, RelayReport};
use crate::telemetry::error_chain;

/// Lambda's on-failure record of a DynamoDB stream batch (what it sends to the queue).
#[derive(Debug, Clone, Deserialize)]
pub struct OnFailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: StreamBatch,
    #[serde(default, rename = "requestContext")]
    pub request_context: Option<serde_json::Value>,
}

/// Where a given-up batch was in the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamBatch {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_of_first_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_of_last_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u64>,
}

/// Why a batch could not be read from the stream.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The stream no longer holds the records (trimmed after 24 h, or the stream or shard
    /// is gone): they can never be read again.
    #[error("the stream no longer holds the batch: {0}")]
    Gone(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The lead table's stream, read again.
pub trait StreamReader: Send + Sync {
    /// The batch's records, first to last sequence number, as the relay takes them.
    fn read(
        &self,
        batch: &StreamBatch,
    ) -> impl Future<Output = Result<Vec<Change>, ReadError>> + Send;
}

/// What became of one on-failure record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// Relayed again, whole.
    Relayed(RelayReport),
    /// The stream no longer holds it: written down as a gap.
    Gap,
    /// Not done yet (a transient failure): the on-failure message comes back later.
    Retry(String),
}

/// Redrives one on-failure record's batch through the relay.
pub async fn redrive<S, P, R, K>(
    reader: &S,
    relay: &Relay<P, R, K>,
    batch: &StreamBatch,
) -> Redriven
where
    S: StreamReader,
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot,
{
    match reader.read(batch).await {
        Ok(changes) => {
            let report = relay.relay(&changes).await;
            match &report.retry_from {
                Some(sequence_number) => {
                    Redriven::Retry(format!("the relay stopped at record {sequence_number}"))
                }
                None => Redriven::Relayed(report),
            }
        }
        Err(ReadError::Gone(why)) => {
            tracing::error!(
                shard = %batch.shard_id,
                start = %batch.start_sequence_number,
                end = %batch.end_sequence_number,
                why,
                "a given-up stream batch is no longer held: written down for the operator"
            );
            let gap = gap(batch, &why);
            match relay.lot().park(&gap).await {
                Ok(()) => Redriven::Gap,
                Err(e) => Redriven::Retry(error_chain(&e)),
            }
        }
        Err(ReadError::Backend(e)) => Redriven::Retry(error_chain(&e)),
    }
}

/// What is known of a batch the stream no longer holds, for the operator.
pub fn gap(batch: &StreamBatch, why: &str) -> Parked {
    Parked {
        kind: "stream-gap",
        at: Timestamp::now().to_rfc3339(),
        reason: format!(
            "stream batch given up by Lambda and no longer held by the stream ({why}): \
             its callbacks and quarantine forwards were never sent; its DNC signals reached \
             the register only if an earlier pass registered them"
        ),
        body: serde_json::to_string(batch).unwrap_or_default(),
    }
}

/// Sequence numbers are decimal strings of any length: `a` comes after `b`.
pub fn sequence_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers_not_as_text() {
        assert!(sequence_after("1000", "999"));
        assert!(!sequence_after("999", "1000"));
        assert!(!sequence_after("000123", "123"));
        assert!(sequence_after(
            "800000000003126276363",
            "800000000003126276362"
        ));
    }

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
        let gap = gap(&record.batch, "trimmed");
        assert_eq!(gap.kind, "stream-gap");
        assert!(gap.body.contains("shardId-00000001573689847184-864758bb"));
        assert!(gap.body.contains("approximateArrivalOfFirstRecord"));
    }
}
