//! The lead table's DynamoDB stream, page by page, for the redrive of given-up batches
//! ([`crate::usecases::redrive::read_batch`] follows the pages); and the one decoding of a
//! record's new image, which the stream trigger uses too.

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;

use super::item::committed;
use crate::adapters::failure::classify;
use crate::core::decided::{Change, Decided, Unreadable};
use crate::ports::{PageError, ShardPosition, StreamBatch, StreamPage, StreamShards};

/// Error codes that mean the records can never be read again.
const GONE_CODES: [&str; 2] = ["TrimmedDataAccessException", "ResourceNotFoundException"];
/// Error codes of a read that may pass after a pause.
const THROTTLED_CODES: [&str; 3] = [
    "LimitExceededException",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
];

/// What a write decided, read from a stream record's new image with the lead item codec;
/// an image this code cannot read comes back whole (DynamoDB JSON) with the reason.
pub fn decode_new_image(image: serde_dynamo::Item) -> Result<Decided, Unreadable> {
    // The decoder takes the image; a copy is kept for the rare record it cannot read.
    committed(image.clone()).map_err(|e| Unreadable {
        why: e.to_string(),
        image: serde_json::to_string(&image).unwrap_or_default(),
    })
}

#[derive(Debug, Clone)]
pub struct DynamoStreamShards {
    client: Client,
}

impl DynamoStreamShards {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn page_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> PageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(e) = &error {
        match e.err().code() {
            Some("ExpiredIteratorException") => return PageError::Expired,
            Some(code) if GONE_CODES.contains(&code) => return PageError::Gone(code.to_owned()),
            Some(code) if THROTTLED_CODES.contains(&code) => {
                return PageError::Throttled(classify(operation, "throttled", error));
            }
            _ => {}
        }
    }
    PageError::Backend(classify(operation, "the stream refuses the read", error))
}

impl StreamShards for DynamoStreamShards {
    async fn iterator(
        &self,
        batch: &StreamBatch,
        from: &ShardPosition,
    ) -> Result<Option<String>, PageError> {
        let (kind, sequence_number) = match from {
            ShardPosition::At(seq) => (ShardIteratorType::AtSequenceNumber, seq),
            ShardPosition::After(seq) => (ShardIteratorType::AfterSequenceNumber, seq),
        };
        let output = self
            .client
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(kind)
            .sequence_number(sequence_number)
            .send()
            .await
            .map_err(|e| page_error("DynamoDB Streams GetShardIterator", e))?;
        Ok(output.shard_iterator)
    }

    async fn page(&self, iterator: &str) -> Result<StreamPage, PageError> {
        let page = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .map_err(|e| page_error("DynamoDB Streams GetRecords", e))?;
        let changes = page
            .records
            .unwrap_or_default()
            .into_iter()
            .filter_map(|record| record.dynamodb)
            .map(|change| Change {
                sequence_number: change.sequence_number.unwrap_or_default(),
                decided: decode_new_image(change.new_image.unwrap_or_default().into()),
            })
            .collect();
        Ok(StreamPage {
            changes,
            next: page.next_shard_iterator,
        })
    }
}
