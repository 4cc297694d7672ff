//! The example consumer (`crates/example-consumer`) on moto, on messages the relay really
//! produced: received from the FIFO queues as Lambda's SQS poller receives them, handed over
//! as the Lambda SQS event, deleted when the consumer does not report them failed. Its
//! idempotency table and the DNC register are DynamoDB tables; only the actions are an
//! in-memory adapter, which records what it acted on.

mod support;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use example_consumer::Consumer;
use example_consumer::dynamodb::{DynamoDncRegister, DynamoIdempotency, create_idempotency_table};
use example_consumer::memory::RecordingActions;
use serde_json::{Map, Value, json};
use support::aws::{TestAws, deliver, n, s, signed};
use support::body;

type LiveConsumer = Consumer<RecordingActions, DynamoIdempotency, DynamoDncRegister>;

const A: &str = "+12025550140";
const B: &str = "+12025550141";

struct Rig {
    aws: TestAws,
    idempotency_table: String,
}

impl Rig {
    async fn new() -> Self {
        let aws = TestAws::new().await;
        let idempotency_table = format!("{}-consumer-idempotency", aws.resources.table_name);
        create_idempotency_table(&aws.dynamodb, &idempotency_table)
            .await
            .unwrap();
        Self {
            aws,
            idempotency_table,
        }
    }

    /// A consumer instance (as a new Lambda instance would be) on the rig's tables.
    fn consumer(&self) -> LiveConsumer {
        Consumer::new(
            RecordingActions::default(),
            DynamoIdempotency::new(self.aws.dynamodb.clone(), &self.idempotency_table, 3600),
            DynamoDncRegister::new(
                self.aws.dynamodb.clone(),
                &self.aws.resources.dnc_table_name,
            ),
        )
    }

    async fn deliver(&self, event: &Value) {
        let handler = self.aws.handler().await;
        let (status, answer) = deliver(&handler, event).await;
        assert_eq!(status, 200, "{answer}");
    }

    /// Receives up to 10 messages, as Lambda's poller does, leaving them in flight.
    async fn receive(&self, url: &str) -> Vec<Message> {
        self.aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(30)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    }

    /// Hands `messages` to `consumer` as one Lambda invocation, then does what Lambda does
    /// with the answer: deletes what did not fail, makes the failures visible again at
    /// once (instead of after the visibility timeout). Returns the failed message ids.
    async fn invoke(
        &self,
        consumer: &LiveConsumer,
        url: &str,
        messages: &[Message],
    ) -> Vec<String> {
        let now = chrono::Utc::now().timestamp_millis() as u64;
        let response = consumer
            .handle(&lambda_event(messages), now, now + 30_000)
            .await;
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        for m in messages {
            let handle = m.receipt_handle().unwrap();
            if failed.iter().any(|id| Some(id.as_str()) == m.message_id()) {
                self.aws
                    .sqs
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                self.aws
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
        }
        failed
    }

    async fn idempotency_record(&self, id: &str) -> Option<support::aws::Item> {
        self.aws
            .dynamodb
            .get_item()
            .table_name(&self.idempotency_table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

/// The Lambda SQS event for messages received with the SDK: the same fields Lambda fills.
fn lambda_event(messages: &[Message]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                .collect();
            let message_attributes: Map<String, Value> = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let value = json!({"stringValue": v.string_value(), "dataType": v.data_type()});
                    (k.clone(), value)
                })
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn ids(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            support::aws::body_json(m)["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn scheduled(phone: &str, minute: u32) -> Value {
    signed(&body(
        "lead.call_scheduled",
        "spring-campaign",
        &format!("2026-11-25T10:{minute:02}:00.000Z"),
        phone,
        &format!(r#""scheduledTime":"2026-11-26T15:{minute:02}:00.000Z""#),
    ))
}

fn key_9(campaign: &str, phone: &str) -> Value {
    signed(&body(
        "lead.call_key_pressed",
        campaign,
        "2026-11-25T11:00:00.000Z",
        phone,
        r#""callType":"inbound","keypressNumber":"9""#,
    ))
}

#[tokio::test]
async fn relayed_messages_are_acted_on_once_each_and_a_redelivery_is_skipped_by_id() {
    let rig = Rig::new().await;
    let queues = rig.aws.resources.queues.clone();
    rig.deliver(&scheduled(A, 1)).await;
    rig.deliver(&scheduled(B, 2)).await;
    rig.deliver(&key_9("spring-campaign", "+12025550142")).await;
    rig.aws.pump().await;

    let consumer = rig.consumer();
    let callbacks = rig.receive(&queues.callback).await;
    let dnc = rig.receive(&queues.dnc).await;
    assert_eq!((callbacks.len(), dnc.len()), (2, 1));
    assert!(
        rig.invoke(&consumer, &queues.callback, &callbacks)
            .await
            .is_empty()
    );
    assert!(rig.invoke(&consumer, &queues.dnc, &dnc).await.is_empty());
    let expected: Vec<String> = ids(&callbacks).into_iter().chain(ids(&dnc)).collect();
    assert_eq!(consumer.actions().acted(), expected);

    // SQS delivers at least once: the same messages again, to another instance.
    let other = rig.consumer();
    let redelivered = lambda_event(&callbacks);
    let now = chrono::Utc::now().timestamp_millis() as u64;
    assert!(
        other
            .handle(&redelivered, now, now + 30_000)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(
        other
            .handle(&lambda_event(&dnc), now, now + 30_000)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(other.actions().acted().is_empty(), "skipped by id");

    // Each id is recorded as done, with an expiry for the table's TTL.
    for id in &expected {
        let record = rig.idempotency_record(id).await.unwrap();
        assert_eq!(s(&record, "status").as_deref(), Some("COMPLETED"));
        assert_eq!(s(&record, "outcome").as_deref(), Some("acted"));
        assert!(n(&record, "expiration").unwrap() > now / 1000 + 3000);
    }
}

#[tokio::test]
async fn a_failure_mid_batch_fails_exactly_the_rest_of_its_group() {
    let rig = Rig::new().await;
    let url = rig.aws.resources.queues.callback.clone();
    // Interleaved: A1 B1 A2 B2 A3.
    for (phone, minute) in [(A, 1), (B, 2), (A, 3), (B, 4), (A, 5)] {
        rig.deliver(&scheduled(phone, minute)).await;
    }
    rig.aws.pump().await;
    let batch = rig.receive(&url).await;
    let group_of = |m: &Message| {
        m.attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .cloned()
            .unwrap()
    };
    let in_a: Vec<&Message> = batch.iter().filter(|m| group_of(m) == A).collect();
    let in_b: Vec<&Message> = batch.iter().filter(|m| group_of(m) == B).collect();
    assert_eq!(
        (in_a.len(), in_b.len()),
        (3, 2),
        "one batch holds both groups whole"
    );

    let consumer = rig.consumer();
    let a2 = support::aws::body_json(in_a[1])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    consumer.actions().fail_on(&a2);
    let failed = rig.invoke(&consumer, &url, &batch).await;
    let expected: Vec<String> = in_a[1..]
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    assert_eq!(failed, expected, "A2 and the A3 after it; nothing of B");
    let done = consumer.actions().acted();
    assert_eq!(done.len(), 3, "A1, B1, B2: {done:?}");

    // The group comes back from A2, in order, and is acted on once.
    consumer.actions().heal();
    let retry = rig.receive(&url).await;
    assert_eq!(
        ids(&retry),
        [
            a2.clone(),
            support::aws::body_json(in_a[2])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
    );
    assert!(rig.invoke(&consumer, &url, &retry).await.is_empty());
    let mut all = consumer.actions().acted();
    assert_eq!(all.len(), 5);
    let mut sent = ids(&batch);
    all.sort();
    sent.sort();
    assert_eq!(all, sent, "every message acted on once");
    assert!(rig.receive(&url).await.is_empty());
}

#[tokio::test]
async fn a_callback_for_a_phone_that_became_dnc_is_dropped() {
    let rig = Rig::new().await;
    let queues = rig.aws.resources.queues.clone();
    rig.deliver(&scheduled(A, 1)).await;
    rig.aws.pump().await;
    let callback = rig.receive(&queues.callback).await;
    assert_eq!(callback.len(), 1);
    // The lead presses 9 in another campaign before the callback is consumed.
    rig.deliver(&key_9("autumn-campaign", A)).await;
    rig.aws.pump().await;
    assert!(rig.aws.register_item(A).await.is_some());

    let consumer = rig.consumer();
    assert!(
        rig.invoke(&consumer, &queues.callback, &callback)
            .await
            .is_empty()
    );
    assert!(
        consumer.actions().acted().is_empty(),
        "no callback to a DNC number"
    );
    let id = &ids(&callback)[0];
    let record = rig.idempotency_record(id).await.unwrap();
    assert_eq!(s(&record, "outcome").as_deref(), Some("dropped_dnc"));

    // The DNC request itself is acted on.
    let dnc = rig.receive(&queues.dnc).await;
    assert!(rig.invoke(&consumer, &queues.dnc, &dnc).await.is_empty());
    assert_eq!(consumer.actions().acted(), ids(&dnc));
}
