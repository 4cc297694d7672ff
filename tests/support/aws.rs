//! A real local AWS for the integration tests: moto in server mode, reached through the
//! real SDK clients at `AWS_ENDPOINT_URL` (scripts/test.sh starts it and sets it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use call_events::app::{LiveHandler, build};
use call_events::config::{Config, SecretSource};
use call_events::dynamo::DynamoLeadStore;
use call_events::http::WebhookHandler;
use call_events::local::{self, Resources};
use call_events::service::CallEvents;
use call_events::signature::{Secret, Verifier, sign_v2};
use call_events::sqs::SqsPublisher;
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
            sdk,
            resources,
        }
    }

    pub fn config(&self, secrets: &[&str]) -> Config {
        Config {
            table_name: self.resources.table_name.clone(),
            queues: self.resources.queues.clone(),
            secrets: SecretSource::Inline(
                secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            ),
            tolerance_seconds: 300,
        }
    }

    /// The function as deployed, on this table and these queues.
    pub async fn handler(&self) -> LiveHandler {
        self.handler_with_secrets(&[LOCAL_SECRET]).await
    }

    pub async fn handler_with_secrets(&self, secrets: &[&str]) -> LiveHandler {
        build(&self.config(secrets), &self.sdk).await.unwrap()
    }

    /// The function with DynamoDB and/or SQS reached at other endpoints (to cut them off).
    pub fn handler_with_endpoints(&self, dynamodb: Option<&str>, sqs: Option<&str>) -> LiveHandler {
        let mut dynamo_conf = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(url) = dynamodb {
            dynamo_conf = dynamo_conf.endpoint_url(url);
        }
        let mut sqs_conf = aws_sdk_sqs::config::Builder::from(&self.sdk);
        if let Some(url) = sqs {
            sqs_conf = sqs_conf.endpoint_url(url);
        }
        WebhookHandler::new(
            Verifier::new(vec![Secret::new(LOCAL_SECRET).unwrap()], 300),
            CallEvents::new(
                DynamoLeadStore::new(
                    aws_sdk_dynamodb::Client::from_conf(dynamo_conf.build()),
                    &self.resources.table_name,
                ),
                SqsPublisher::new(
                    aws_sdk_sqs::Client::from_conf(sqs_conf.build()),
                    self.resources.queues.clone(),
                ),
            ),
        )
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

    /// Receives and deletes every message on the queue.
    pub async fn drain(&self, url: &str) -> Vec<Message> {
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
        let q = &self.resources.queues;
        [
            self.drain(&q.callback).await,
            self.drain(&q.dnc).await,
            self.drain(&q.quarantine).await,
        ]
    }
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

/// Signs the event again, now, with `secret` (v2), as the sender would at send time.
pub fn resign(mut event: Value, secret: &str) -> Value {
    let body = raw_body(&event);
    let now = chrono::Utc::now().timestamp_millis();
    set_signature(
        &mut event,
        &sign_v2(&Secret::new(secret).unwrap(), now, &body),
    );
    event
}

/// An HTTP API event carrying `body`, signed now with the local secret.
pub fn signed(body: &str) -> Value {
    let mut event = sample("02-call-received.json");
    event["body"] = Value::from(body);
    event["isBase64Encoded"] = Value::from(false);
    resign(event, LOCAL_SECRET)
}

pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).unwrap()
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
