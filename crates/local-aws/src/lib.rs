//! Dev only: the AWS resources the functions need, created on a local emulator (moto) for
//! the tests, the benches and the local run. `template.yaml` declares the same resources for
//! AWS; a test checks that the two agree. No function links this crate
//! (`tests/architecture.rs`).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use call_events::adapters::QueueUrls;
use call_events::adapters::dynamodb::item::{
    EXPIRES_AT, EXTERNAL_LEAD_ID_INDEX, INDEX_ATTRIBUTES, PARTITION_KEY, RELAY_INDEX,
    RELAY_PENDING, RELAY_PENDING_SINCE, SORT_KEY,
};
use call_events::adapters::dynamodb::register::{
    PENDING_INDEX, PENDING_KEY, PENDING_SINCE, REGISTER_KEY,
};
use call_events::ports::BackendError;

/// Receives before a message moves to its dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// The relay failure queue's: a given-up batch is tried every 5 minutes for 25 hours.
pub const REDRIVE_MAX_RECEIVE_COUNT: u32 = 300;
/// Every queue states its size limit (1 MiB, SQS's largest), as `template.yaml` does.
pub const MAXIMUM_MESSAGE_SIZE: u32 = 1_048_576;
/// 14 days, SQS's longest: a DNC request must outlive any consumer outage.
pub const RETENTION_SECONDS: u32 = 1_209_600;

#[derive(Debug, Clone)]
pub struct Resources {
    pub table_name: String,
    /// The DNC register.
    pub dnc_table_name: String,
    /// The lead table's stream, which the relay reads.
    pub stream_arn: String,
    pub queues: QueueUrls,
    pub callback_dlq: String,
    pub dnc_dlq: String,
    /// Where Lambda parks a stream batch the relay could not send in time (the redrive
    /// reads it).
    pub relay_failures: String,
    pub relay_failures_dlq: String,
    /// The relay's on-failure destination: Lambda writes each given-up batch there, whole;
    /// S3 notifies `relay_failures` of each object.
    pub relay_failure_bucket: String,
}

impl Resources {
    /// The names of the resources for `prefix`: `<prefix>-leads`, `<prefix>-callbacks.fifo`, ...
    pub fn names(prefix: &str) -> [String; 9] {
        [
            format!("{prefix}-leads"),
            format!("{prefix}-dnc-register"),
            format!("{prefix}-callbacks.fifo"),
            format!("{prefix}-callbacks-dlq.fifo"),
            format!("{prefix}-dnc.fifo"),
            format!("{prefix}-dnc-dlq.fifo"),
            format!("{prefix}-quarantine"),
            format!("{prefix}-relay-failures"),
            format!("{prefix}-relay-failures-dlq"),
        ]
    }

    /// The environment the two functions read (docs/contract.md §6), secret aside.
    pub fn env(&self) -> [(&'static str, &str); 5] {
        [
            ("TABLE_NAME", &self.table_name),
            ("DNC_TABLE_NAME", &self.dnc_table_name),
            ("CALLBACK_QUEUE_URL", &self.queues.callback),
            ("DNC_QUEUE_URL", &self.queues.dnc),
            ("QUARANTINE_QUEUE_URL", &self.queues.quarantine),
        ]
    }
}

/// Creates the table and the queues (with their dead-letter queues) named after `prefix`.
pub async fn create(sdk: &SdkConfig, prefix: &str) -> Result<Resources, BackendError> {
    let [
        table,
        dnc_register,
        callbacks,
        callbacks_dlq,
        dnc,
        dnc_dlq,
        quarantine,
        relay_failures,
        relay_failures_dlq,
    ] = Resources::names(prefix);
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let stream_arn = create_table(&dynamodb, &table).await?;
    create_register_table(&dynamodb, &dnc_register).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let callback_dlq = create_queue(&sqs, &callbacks_dlq, None).await?;
    let callback = create_queue(&sqs, &callbacks, Some((&callback_dlq, MAX_RECEIVE_COUNT))).await?;
    let dnc_dlq = create_queue(&sqs, &dnc_dlq, None).await?;
    let dnc = create_queue(&sqs, &dnc, Some((&dnc_dlq, MAX_RECEIVE_COUNT))).await?;
    let quarantine = create_queue(&sqs, &quarantine, None).await?;
    let relay_failures_dlq = create_queue(&sqs, &relay_failures_dlq, None).await?;
    let redrive = Some((relay_failures_dlq.as_str(), REDRIVE_MAX_RECEIVE_COUNT));
    let relay_failures = create_queue(&sqs, &relay_failures, redrive).await?;
    // Bucket names are lower case.
    let relay_failure_bucket = format!("{}-relay-failures", prefix.to_ascii_lowercase());
    create_failure_bucket(
        sdk,
        &relay_failure_bucket,
        &queue_arn(&sqs, &relay_failures).await?,
    )
    .await?;
    // S3 announces the notification with a test message, as on AWS (the relay passes over
    // it): taken off, so that the queue starts empty.
    sqs.purge_queue()
        .queue_url(&relay_failures)
        .send()
        .await
        .map_err(|e| BackendError::new("SQS PurgeQueue", e))?;
    Ok(Resources {
        table_name: table,
        dnc_table_name: dnc_register,
        stream_arn,
        queues: QueueUrls {
            callback,
            dnc,
            quarantine,
        },
        callback_dlq,
        dnc_dlq,
        relay_failures,
        relay_failures_dlq,
        relay_failure_bucket,
    })
}

/// The relay's on-failure bucket, which notifies the relay failure queue (`queue_arn`) of
/// every object Lambda writes to it, as `template.yaml` declares.
async fn create_failure_bucket(
    sdk: &SdkConfig,
    bucket: &str,
    queue_arn: &str,
) -> Result<(), BackendError> {
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    let failed =
        |e: Box<dyn std::error::Error + Send + Sync>| BackendError::new("S3 CreateBucket", e);
    let s3 = aws_sdk_s3::Client::new(sdk);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| failed(e.into()))?;
    let notify = QueueConfiguration::builder()
        .queue_arn(queue_arn)
        .events(Event::S3ObjectCreated)
        .build()
        .map_err(|e| failed(e.into()))?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(notify)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed(e.into()))?;
    Ok(())
}

fn create_failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BackendError {
    BackendError::new("DynamoDB CreateTable", e)
}

/// A string attribute of a key.
fn attribute(name: &str) -> Result<AttributeDefinition, BackendError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(create_failed)
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BackendError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(create_failed)
}

/// Creates the lead table with its stream (new and old images) and time to live; returns
/// the stream's ARN.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<String, BackendError> {
    let fail = create_failed;
    let index = GlobalSecondaryIndex::builder()
        .index_name(EXTERNAL_LEAD_ID_INDEX)
        .key_schema(key("externalLeadId", KeyType::Hash)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(
                    INDEX_ATTRIBUTES.iter().map(|a| a.to_string()).collect(),
                ))
                .build(),
        )
        .build()
        .map_err(fail)?;
    // The sweep's sparse index of writes the relay has not confirmed, keys only (as in
    // template.yaml).
    let waiting = GlobalSecondaryIndex::builder()
        .index_name(RELAY_INDEX)
        .key_schema(key(RELAY_PENDING, KeyType::Hash)?)
        .key_schema(key(RELAY_PENDING_SINCE, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(fail)?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PARTITION_KEY)?)
        .attribute_definitions(attribute(SORT_KEY)?)
        .attribute_definitions(attribute("externalLeadId")?)
        .attribute_definitions(attribute(RELAY_PENDING)?)
        .attribute_definitions(attribute(RELAY_PENDING_SINCE)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .global_secondary_indexes(index)
        .global_secondary_indexes(waiting)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(fail)?,
        )
        .send()
        .await
        .map_err(|e| BackendError::new("DynamoDB CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(EXPIRES_AT)
                .build()
                .map_err(fail)?,
        )
        .send()
        .await
        .map_err(|e| BackendError::new("DynamoDB UpdateTimeToLive", e))?;
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| BackendError::new("DynamoDB DescribeTable", e))?;
    described
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| BackendError::new("DynamoDB DescribeTable", "the table has no stream"))
}

/// Creates the DNC register: one item per phone, kept for audit (point-in-time recovery and
/// deletion protection, as in `template.yaml`).
async fn create_register_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), BackendError> {
    let fail = create_failed;
    // The sweep's sparse index of pending requests, keys only (as in template.yaml).
    let pending = GlobalSecondaryIndex::builder()
        .index_name(PENDING_INDEX)
        .key_schema(key(PENDING_KEY, KeyType::Hash)?)
        .key_schema(key(PENDING_SINCE, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(fail)?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(REGISTER_KEY)?)
        .attribute_definitions(attribute(PENDING_KEY)?)
        .attribute_definitions(attribute(PENDING_SINCE)?)
        .key_schema(key(REGISTER_KEY, KeyType::Hash)?)
        .global_secondary_indexes(pending)
        .deletion_protection_enabled(true)
        .send()
        .await
        .map_err(|e| BackendError::new("DynamoDB CreateTable", e))?;
    client
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .map_err(fail)?,
        )
        .send()
        .await
        .map_err(|e| BackendError::new("DynamoDB UpdateContinuousBackups", e))?;
    Ok(())
}

/// Creates a queue (FIFO if the name ends in `.fifo`) and returns its URL.
async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    dead_letter_queue: Option<(&str, u32)>,
) -> Result<String, BackendError> {
    let mut attributes = HashMap::from([
        (
            QueueAttributeName::MessageRetentionPeriod,
            RETENTION_SECONDS.to_string(),
        ),
        (
            QueueAttributeName::MaximumMessageSize,
            MAXIMUM_MESSAGE_SIZE.to_string(),
        ),
    ]);
    if name.ends_with(".fifo") {
        attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        attributes.insert(
            QueueAttributeName::ContentBasedDeduplication,
            "false".into(),
        );
    }
    if let Some((dlq, max_receive_count)) = dead_letter_queue {
        let arn = queue_arn(client, dlq).await?;
        attributes.insert(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":{max_receive_count}}}"#),
        );
    }
    let output = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| BackendError::new("SQS CreateQueue", e))?;
    output
        .queue_url
        .ok_or_else(|| BackendError::new("SQS CreateQueue", "no queue URL in the answer"))
}

pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, BackendError> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| BackendError::new("SQS GetQueueAttributes", e))?;
    output
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| BackendError::new("SQS GetQueueAttributes", "no QueueArn in the answer"))
}
