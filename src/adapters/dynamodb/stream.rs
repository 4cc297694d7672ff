//! The lead table's DynamoDB stream, read again by the redrive: the records of a given-up
//! batch, from its first to its last sequence number.

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;

use super::item::committed;
use crate::adapters::failure::classify;
use crate::core::decided::Change;
use crate::ports::{ReadError, StreamBatch, StreamReader};

/// Pages read at most for one batch (a batch is at most the event source's batch size, 10
/// records; empty pages of an open shard end the read well before this).
const MAX_PAGES: usize = 50;

/// Error codes that mean the records can never be read again.
const GONE_CODES: [&str; 2] = ["TrimmedDataAccessException", "ResourceNotFoundException"];

#[derive(Debug, Clone)]
pub struct DynamoStreamReader {
    client: Client,
}

impl DynamoStreamReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn read_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(e) = &error
        && let Some(code) = e.err().code().filter(|c| GONE_CODES.contains(c))
    {
        return ReadError::Gone(code.to_owned());
    }
    ReadError::Backend(classify(operation, "the stream refuses the read", error))
}

impl StreamReader for DynamoStreamReader {
    async fn read(&self, batch: &StreamBatch) -> Result<Vec<Change>, ReadError> {
        let iterator = self
            .client
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(&batch.start_sequence_number)
            .send()
            .await
            .map_err(|e| read_error("DynamoDB Streams GetShardIterator", e))?;
        let mut iterator = iterator.shard_iterator;
        let mut changes = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(current) = iterator.take() else {
                break;
            };
            let page = self
                .client
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(|e| read_error("DynamoDB Streams GetRecords", e))?;
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                // Nothing more yet on an open shard: the batch's records are all behind us.
                break;
            }
            for record in records {
                let Some(change) = record.dynamodb else {
                    continue;
                };
                let sequence_number = change.sequence_number.unwrap_or_default();
                if sequence_after(&sequence_number, &batch.end_sequence_number) {
                    return Ok(changes);
                }
                let image = change.new_image.unwrap_or_default();
                changes.push(Change {
                    sequence_number,
                    decided: committed(image.into()).map_err(|e| e.to_string()),
                });
            }
            iterator = page.next_shard_iterator;
        }
        Ok(changes)
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
}
