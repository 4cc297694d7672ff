//! A real local AWS for the integration tests: moto in server mode, reached through the
//! real SDK clients at `AWS_ENDPOINT_URL` (scripts/test.sh starts it and sets it).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use call_events::adapters::{DynamoDncRegister, DynamoLeadStore, DynamoStreamShards};
use call_events::adapters::{S3FailureArchive, SqsPublisher};
use call_events::app::{LiveHandler, LiveRelay, build, build_relay};
use call_events::config::{Config, RelayConfig, SecretSource};
use call_events::core::signature::{Secret, Verifier, sign_v2};
use call_events::entrypoints::http::WebhookHandler;
use call_events::entrypoints::stream::StreamHandler;
use call_events::usecases::keyring::Keyring;
use call_events::usecases::record::CallEventRecorder;
use call_events::usecases::relay::{BatchReport, Relay};
use call_events_local::{self as local, Resources};
use lambda_http::Request;
use serde_json::Value;

/// The local-only secret the sample events in `events/` are signed with.
pub const LOCAL_SECRET: &str = "local-dev-secret-do-not-deploy";
/// Nothing listens here: an AWS endpoint that is down.
pub const CLOSED_ENDPOINT: &str = "http://127.0.0.1:9";

pub type Item = HashMap<String, AttributeValue>;

pub struct TestAws {
    pub sdk: SdkConfig,
    pub resources: Resources,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    /// The stream position the relay has checkpointed, as Lambda's event source mapping
    /// keeps it: the sequence number of the last record handled.
    checkpoint: Mutex<Option<String>>,
}

/// SDK configuration for tests: quick retries, so the fault tests do not wait long.
pub async fn sdk_config() -> SdkConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the integration tests with `bash scripts/test.sh`, which starts moto"
    );
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(call_events::app::http_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

impl TestAws {
    /// A fresh table and fresh queues, named uniquely so tests run in parallel.
    pub async fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let sdk = sdk_config().await;
        let prefix = format!(
            "t{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        let resources = local::create(&sdk, &prefix)
            .await
            .unwrap_or_else(|e| panic!("creating local resources: {e:?}"));
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            sdk,
            resources,
            checkpoint: Mutex::new(None),
        }
    }

    pub fn config(&self, secrets: &[&str]) -> Config {
        Config {
            table_name: self.resources.table_name.clone(),
            secrets: SecretSource::Inline(
                secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            ),
            tolerance_seconds: 300,
            accept_v1: true,
        }
    }

    /// The function as deployed, on this table and these queues.
    pub async fn handler(&self) -> LiveHandler {
        self.handler_with_secrets(&[LOCAL_SECRET]).await
    }

    pub async fn handler_with_secrets(&self, secrets: &[&str]) -> LiveHandler {
        build(&self.config(secrets), &self.sdk).await.unwrap()
    }

    /// The webhook with DynamoDB reached at another endpoint (to cut it off).
    pub fn handler_with_dynamodb_at(&self, url: &str) -> LiveHandler {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.sdk).endpoint_url(url);
        WebhookHandler::with_keyring(
            Keyring::new(
                Verifier::new(vec![Secret::new(LOCAL_SECRET).unwrap()], 300),
                None,
            ),
            CallEventRecorder::new(DynamoLeadStore::new(
                aws_sdk_dynamodb::Client::from_conf(conf.build()),
                &self.resources.table_name,
            )),
        )
    }

    /// The relay as deployed, on these queues.
    pub fn relay(&self) -> LiveRelay {
        build_relay(
            &RelayConfig {
                table_name: self.resources.table_name.clone(),
                dnc_table_name: self.resources.dnc_table_name.clone(),
                queues: self.resources.queues.clone(),
            },
            &self.sdk,
        )
    }

    /// The relay with SQS reached at another endpoint (to cut it off).
    pub fn relay_with_sqs_at(&self, url: &str) -> LiveRelay {
        let conf = aws_sdk_sqs::config::Builder::from(&self.sdk).endpoint_url(url);
        StreamHandler::new(
            Relay::new(
                SqsPublisher::new(
                    aws_sdk_sqs::Client::from_conf(conf.build()),
                    self.resources.queues.clone(),
                ),
                DynamoDncRegister::new(self.dynamodb.clone(), &self.resources.dnc_table_name),
                DynamoLeadStore::new(self.dynamodb.clone(), &self.resources.table_name),
            ),
            DynamoStreamShards::new(self.streams.clone()),
            S3FailureArchive::new(aws_sdk_s3::Client::new(&self.sdk)),
            call_events::adapters::dynamodb::stream::decode_new_image,
        )
    }

    /// The relay with DynamoDB Streams reached at another endpoint (a proxy that plays what
    /// moto does not).
    pub fn relay_with_streams_at(&self, url: &str) -> LiveRelay {
        let conf = aws_sdk_dynamodbstreams::config::Builder::from(&self.sdk).endpoint_url(url);
        StreamHandler::new(
            Relay::new(
                SqsPublisher::new(self.sqs.clone(), self.resources.queues.clone()),
                DynamoDncRegister::new(self.dynamodb.clone(), &self.resources.dnc_table_name),
                DynamoLeadStore::new(self.dynamodb.clone(), &self.resources.table_name),
            ),
            DynamoStreamShards::new(aws_sdk_dynamodbstreams::Client::from_conf(conf.build())),
            S3FailureArchive::new(aws_sdk_s3::Client::new(&self.sdk)),
            call_events::adapters::dynamodb::stream::decode_new_image,
        )
    }

    /// The stream records written since the checkpoint, in the Lambda event shape, read
    /// from moto's DynamoDB Streams API as Lambda's event source mapping reads them.
    pub async fn new_stream_records(&self) -> Vec<EventRecord> {
        let checkpoint = self.checkpoint.lock().unwrap().clone();
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(&self.resources.stream_arn)
            .send()
            .await
            .unwrap()
            .stream_description
            .unwrap()
            .shards
            .unwrap_or_default();
        let mut records = Vec::new();
        for shard in shards {
            let request = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.resources.stream_arn)
                .shard_id(shard.shard_id().unwrap());
            let request = match &checkpoint {
                Some(seq) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut iterator = request.send().await.unwrap().shard_iterator;
            while let Some(it) = iterator {
                let out = self
                    .streams
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .unwrap();
                let batch = out.records.unwrap_or_default();
                if batch.is_empty() {
                    break;
                }
                records.extend(
                    batch
                        .into_iter()
                        .map(|r| lambda_record(r, &self.resources.stream_arn)),
                );
                iterator = out.next_shard_iterator;
            }
        }
        records
    }

    /// Hands every new stream record to `relay`, in batches of `batch_size`, and moves the
    /// checkpoint as Lambda does: past a batch that succeeded, up to (not past) the record
    /// a partial batch failure names. Returns the reports.
    pub async fn pump_with(&self, relay: &LiveRelay, batch_size: usize) -> Vec<BatchReport> {
        let records = self.new_stream_records().await;
        let mut reports = Vec::new();
        for batch in records.chunks(batch_size) {
            let mut event = Event::default();
            event.records = batch.to_vec();
            let (response, report) = relay.respond(event, super::budget()).await;
            let failed = response
                .batch_item_failures
                .first()
                .and_then(|f| f.item_identifier.clone());
            reports.push(report);
            let mut checkpoint = self.checkpoint.lock().unwrap();
            for record in batch {
                let seq = record.change.sequence_number.clone();
                if seq == failed {
                    return reports;
                }
                *checkpoint = seq;
            }
        }
        reports
    }

    /// Plays Lambda giving up on every stream record not relayed yet (their age passed
    /// `MaximumRecordAgeInSeconds`): writes its on-failure record, as Lambda writes it, to
    /// the relay failure queue, and moves the checkpoint past them. Returns the record.
    pub async fn give_up(&self) -> Value {
        let records = self.new_stream_records().await;
        let (first, last) = (records.first().unwrap(), records.last().unwrap());
        let shard = self.shard_id().await;
        let record = serde_json::json!({
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-4a19-a7d5-5d5a3d1c2f10",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:relay",
                "condition": "RecordAgeExceeded",
                "approximateInvokeCount": 7
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first.change.sequence_number,
                "endSequenceNumber": last.change.sequence_number,
                "approximateArrivalOfFirstRecord": "2026-11-26T00:00:00Z",
                "approximateArrivalOfLastRecord": "2026-11-26T00:00:01Z",
                "batchSize": records.len(),
                "streamArn": self.resources.stream_arn
            }
        });
        self.sqs
            .send_message()
            .queue_url(&self.resources.relay_failures)
            .message_body(record.to_string())
            .send()
            .await
            .unwrap();
        *self.checkpoint.lock().unwrap() = last.change.sequence_number.clone();
        record
    }

    /// Plays Lambda giving up on every stream record not relayed yet, with the on-failure
    /// bucket as its destination: writes the invocation record with the batch's records
    /// (`payload`, the event the function was invoked with) under a key of Lambda's form,
    /// and moves the checkpoint past them. S3 notifies the relay failure queue. Returns the
    /// object's key.
    pub async fn give_up_to_bucket(&self) -> String {
        let records = self.new_stream_records().await;
        let (first, last) = (records.first().unwrap(), records.last().unwrap());
        let shard = self.shard_id().await;
        let now = chrono::Utc::now();
        let mut payload = Event::default();
        payload.records = records.clone();
        let record = serde_json::json!({
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-4a19-a7d5-5d5a3d1c2f10",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:relay:live",
                "condition": "RecordAgeExceeded",
                "approximateInvokeCount": 7
            },
            "responseContext": {"statusCode": 200, "executedVersion": "3", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": now.to_rfc3339(),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first.change.sequence_number,
                "endSequenceNumber": last.change.sequence_number,
                "approximateArrivalOfFirstRecord": "2026-11-26T00:00:00Z",
                "approximateArrivalOfLastRecord": "2026-11-26T00:00:01Z",
                "batchSize": records.len(),
                "streamArn": self.resources.stream_arn
            },
            "payload": payload
        });
        let key = format!(
            "aws/lambda/0f6c1f8e-3b4a-4c55-9d2e-8a7b6c5d4e3f/{shard}/{}/{}-{}",
            now.format("%Y/%m/%d"),
            now.format("%Y-%m-%dT%H.%M.%S"),
            fastrand::u64(..)
        );
        aws_sdk_s3::Client::new(&self.sdk)
            .put_object()
            .bucket(&self.resources.relay_failure_bucket)
            .key(&key)
            .body(record.to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
        *self.checkpoint.lock().unwrap() = last.change.sequence_number.clone();
        key
    }

    /// The lead table stream's shard (moto has one).
    pub async fn shard_id(&self) -> String {
        self.streams
            .describe_stream()
            .stream_arn(&self.resources.stream_arn)
            .send()
            .await
            .unwrap()
            .stream_description
            .unwrap()
            .shards
            .unwrap()[0]
            .shard_id()
            .unwrap()
            .to_owned()
    }

    /// Plays the relay failure queue's event source mapping once: hands every message on
    /// the queue to the relay function as Lambda's SQS event, deletes those it did not
    /// report as failures, and makes the others visible again. Returns the answer.
    pub async fn redrive(&self, relay: &LiveRelay) -> Value {
        self.redrive_by(relay, super::budget()).await
    }

    /// [`TestAws::redrive`] with the invocation's deadline at `deadline`.
    pub async fn redrive_by(&self, relay: &LiveRelay, deadline: tokio::time::Instant) -> Value {
        let url = &self.resources.relay_failures;
        let messages = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:relay-failures",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        let answer = relay
            .handle_event(serde_json::json!({ "Records": records }), deadline)
            .await
            .unwrap();
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|f| f["itemIdentifier"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for m in &messages {
            let receipt = m.receipt_handle().unwrap();
            if failed.contains(&m.message_id().unwrap()) {
                self.sqs
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap();
            }
        }
        answer
    }

    /// Runs the deployed relay over every new stream record.
    pub async fn pump(&self) -> Vec<BatchReport> {
        self.pump_with(&self.relay(), 100).await
    }

    pub async fn item(&self, phone: &str, campaign: &str) -> Option<Item> {
        self.dynamodb
            .get_item()
            .table_name(&self.resources.table_name)
            .key("phone", AttributeValue::S(phone.into()))
            .key("campaignId", AttributeValue::S(campaign.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    pub async fn all_items(&self) -> Vec<Item> {
        self.dynamodb
            .scan()
            .table_name(&self.resources.table_name)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Relays what the stream holds, then receives and deletes every message on the queue.
    pub async fn drain(&self, url: &str) -> Vec<Message> {
        self.pump().await;
        self.drain_only(url).await
    }

    /// Receives and deletes every message on the queue (no relay run first).
    pub async fn drain_only(&self, url: &str) -> Vec<Message> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            for m in &messages {
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            all.extend(messages);
        }
    }

    pub async fn drain_all_queues(&self) -> [Vec<Message>; 3] {
        self.pump().await;
        let q = &self.resources.queues;
        [
            self.drain_only(&q.callback).await,
            self.drain_only(&q.dnc).await,
            self.drain_only(&q.quarantine).await,
        ]
    }

    /// The lead items only (the table also holds quarantine records and legacy signals).
    /// The lead items, as docs/contract.md §4 tells table readers to find them: `phone` starts
    /// with `+` and `campaignId` does not start with `#`.
    pub async fn lead_items(&self) -> Vec<Item> {
        self.all_items()
            .await
            .into_iter()
            .filter(|item| {
                s(item, "phone").unwrap_or_default().starts_with('+')
                    && !s(item, "campaignId").unwrap_or_default().starts_with('#')
            })
            .collect()
    }

    /// The phone's entry in the DNC register.
    pub async fn register_item(&self, phone: &str) -> Option<Item> {
        self.dynamodb
            .get_item()
            .table_name(&self.resources.dnc_table_name)
            .key("phone", AttributeValue::S(phone.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

/// A DynamoDB Streams record as Lambda hands it to a function.
fn lambda_record(record: aws_sdk_dynamodbstreams::types::Record, arn: &str) -> EventRecord {
    let change = record.dynamodb.unwrap();
    let mut stream = StreamRecord::default();
    stream.keys = change.keys.unwrap_or_default().into();
    stream.new_image = change.new_image.unwrap_or_default().into();
    stream.old_image = change.old_image.unwrap_or_default().into();
    stream.sequence_number = change.sequence_number;
    stream.size_bytes = change.size_bytes.unwrap_or_default();
    let mut event = EventRecord::default();
    event.aws_region = "us-east-1".into();
    event.change = stream;
    event.event_id = record.event_id.unwrap_or_default();
    event.event_name = record
        .event_name
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    event.event_source = Some("aws:dynamodb".into());
    event.event_source_arn = Some(arn.to_owned());
    event
}

pub fn s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub fn n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub fn body_json(message: &Message) -> Value {
    serde_json::from_str(message.body().unwrap()).unwrap()
}

pub fn attribute(message: &Message, name: &str) -> Option<String> {
    message
        .message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .map(str::to_owned)
}

/// A sample API Gateway event from `events/`.
pub fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The raw body an API Gateway event carries.
pub fn raw_body(event: &Value) -> Vec<u8> {
    use base64::Engine;
    let body = event["body"].as_str().unwrap_or_default();
    if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    } else {
        body.as_bytes().to_vec()
    }
}

/// Sets the event's `aktify-signature` header (in both header maps of a REST event).
pub fn set_signature(event: &mut Value, header: &str) {
    let name = "aktify-signature";
    event["headers"][name] = Value::from(header);
    if event
        .get("multiValueHeaders")
        .is_some_and(|h| h.is_object())
    {
        event["multiValueHeaders"][name] = Value::from(vec![header]);
    }
}

/// Signs the event again, now, with `secret`, as the sender would at send time: `v1` if
/// the sample was signed `v1` (a legacy webhook), else `v2`.
pub fn resign(mut event: Value, secret: &str) -> Value {
    let body = raw_body(&event);
    let now = chrono::Utc::now().timestamp_millis();
    let secret = Secret::new(secret).unwrap();
    let legacy = event["headers"]["aktify-signature"]
        .as_str()
        .is_some_and(|h| h.contains("v1="));
    let header = if legacy {
        call_events::core::signature::sign_v1(&secret, now, &body)
    } else {
        sign_v2(&secret, now, &body)
    };
    set_signature(&mut event, &header);
    event
}

/// An HTTP API event carrying `body`, signed now with the local secret.
pub fn signed(body: &str) -> Value {
    let mut event = sample("02-call-received.json");
    event["body"] = Value::from(body);
    event["isBase64Encoded"] = Value::from(false);
    resign(event, LOCAL_SECRET)
}

/// An HTTP API event carrying `body` as API Gateway hands over bytes that are not UTF-8
/// (base64), signed now with the local secret.
pub fn signed_bytes(body: &[u8]) -> Value {
    use base64::Engine;
    let mut event = sample("02-call-received.json");
    event["body"] = Value::from(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = Value::from(true);
    resign(event, LOCAL_SECRET)
}

/// The request the deployed binary makes of an API Gateway event.
pub fn request(event: &Value) -> Request {
    call_events::entrypoints::http::request_from_event(event.clone())
        .unwrap()
        .into()
}

/// Delivers the event to the handler: the status and the JSON body of the answer.
pub async fn deliver(handler: &LiveHandler, event: &Value) -> (u16, Value) {
    let (response, _report) = handler.respond(&request(event)).await;
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body)
}
