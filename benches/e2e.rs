//! End to end through the real handler against moto on 127.0.0.1: N signed deliveries
//! (mixed event types, duplicates, out of order, many leads). Reports events/s and p50/p99
//! latency; the floor (the same DynamoDB calls, issued bare by a minimal loop with the same
//! SDK client) and the handler/floor ratio; the AWS calls per delivery by outcome, counted
//! by an SDK interceptor, for a warm instance and for cold ones; the relay's delay from the
//! committed write to the message on SQS; the cache's hit rate with 1, 4 and 16 instances;
//! and the price of a million deliveries.
//!
//! bash scripts/bench.sh            (starts moto; or `cargo bench --bench e2e` with
//! AWS_ENDPOINT_URL set) Under `cargo test` it runs a small smoke workload only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_sqs::operation::send_message::SendMessageInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use call_events::adapters::DynamoLeadStore;
use call_events::core::signature::{Secret, Verifier, sign_v2};
use call_events::entrypoints::http::WebhookHandler;
use call_events::usecases::record::CallEventRecorder;
use call_events_local as local;
use serde_json::{Value, json};

const SECRET: &str = "bench-secret-0123456789abcdef";
#[path = "../tests/support/mod.rs"]
mod support;

use call_events::adapters::MemoryLeadStore;
use call_events::adapters::dynamodb::item::item_size;
use call_events::core::wire::{Inbound, parse_body};
use support::aws::TestAws;

const CAMPAIGN: &str = "bench-campaign";

/// One AWS call the handler made: its operation input, to replay it bare.
#[derive(Debug, Clone)]
enum Call {
    GetItem(GetItemInput),
    PutItem(PutItemInput),
    UpdateItem(UpdateItemInput),
    SendMessage(SendMessageInput),
    Other(String),
}

impl Call {
    fn operation(&self) -> &str {
        match self {
            Self::GetItem(_) => "GetItem",
            Self::PutItem(_) => "PutItem",
            Self::UpdateItem(_) => "UpdateItem",
            Self::SendMessage(_) => "SendMessage",
            Self::Other(name) => name,
        }
    }
}

/// Records every call (its input, before serialization) and counts HTTP round trips
/// (attempts, retries included).
#[derive(Debug, Clone, Default)]
struct CallRecorder {
    calls: Arc<Mutex<Vec<Call>>>,
    round_trips: Arc<Mutex<usize>>,
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let call = if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Call::GetItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            Call::PutItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            Call::UpdateItem(i.clone())
        } else if let Some(i) = input.downcast_ref::<SendMessageInput>() {
            Call::SendMessage(i.clone())
        } else {
            Call::Other(cfg.load::<Metadata>().map_or("?", |m| m.name()).to_owned())
        };
        self.calls.lock().unwrap().push(call);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.round_trips.lock().unwrap() += 1;
        Ok(())
    }
}

impl CallRecorder {
    fn take(&self) -> (Vec<Call>, usize) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap());
        let trips = std::mem::take(&mut *self.round_trips.lock().unwrap());
        (calls, trips)
    }
}

/// A tiny deterministic generator, so every run replays the same workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn body(event_type: &str, phone: &str, minute: usize, data: &str) -> String {
    format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"{event_type}","campaignId":"{CAMPAIGN}","eventTime":"2024-01-28T12:{minute:02}:00.000Z"}},"data":{{"phone":"{phone}","externalLeadId":"crm-{phone}",{data}}}}}"#
    )
}

/// The calls of one lead: a call with some keys, maybe a transfer, maybe a callback or a
/// DNC, then the end; later events sometimes delivered before earlier ones, some twice.
fn workload(leads: usize, rng: &mut Rng) -> Vec<String> {
    let mut per_lead: Vec<Vec<String>> = Vec::new();
    for lead in 0..leads {
        let phone = format!("+1202555{lead:04}");
        let mut events = vec![body(
            "lead.call_initiated",
            &phone,
            0,
            r#""isScheduled":false"#,
        )];
        let key = ["1", "2", "5", "9", "3"][rng.below(5)];
        events.push(body(
            "lead.call_key_pressed",
            &phone,
            1,
            &format!(r#""callType":"unscheduled","isScheduled":false,"keypressNumber":"{key}""#),
        ));
        let result = match key {
            "1" => {
                events.push(body(
                    "lead.call_transferred",
                    &phone,
                    2,
                    r#""transferredTo":"+12025550199","callType":"outbound","isScheduled":false"#,
                ));
                "transfer"
            }
            "2" => {
                events.push(body(
                    "lead.call_scheduled",
                    &phone,
                    2,
                    r#""scheduledTime":"2024-01-29T14:00:00.000Z""#,
                ));
                "reschedule"
            }
            "9" => "dnc",
            _ => "no_response",
        };
        events.push(body(
            "lead.call_ended",
            &phone,
            3,
            &format!(r#""callType":"unscheduled","callResult":"{result}","isScheduled":false"#),
        ));
        if rng.below(4) == 0 {
            let i = rng.below(events.len() - 1);
            events.swap(i, i + 1);
        }
        if rng.below(5) == 0 {
            let again = events[rng.below(events.len())].clone();
            events.push(again);
        }
        per_lead.push(events);
    }
    // Interleave the leads as they would arrive.
    let mut all = Vec::new();
    let mut cursors = vec![0; leads];
    while all.len() < per_lead.iter().map(Vec::len).sum() {
        let lead = rng.below(leads);
        if let Some(event) = per_lead[lead].get(cursors[lead]) {
            all.push(event.clone());
            cursors[lead] += 1;
        }
    }
    all
}

fn http_event(body: &str, secret: &Secret) -> Value {
    let signature = sign_v2(
        secret,
        chrono::Utc::now().timestamp_millis(),
        body.as_bytes(),
    );
    json!({
        "version": "2.0", "routeKey": "POST /call-events", "rawPath": "/call-events", "rawQueryString": "",
        "headers": {"content-type": "application/json", "aktify-signature": signature},
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": {"method": "POST", "path": "/call-events", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "POST /call-events", "stage": "$default", "time": "28/Jan/2024:12:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    })
}

struct Delivery {
    outcome: String,
    latency: Duration,
    floor: Duration,
    calls: Vec<String>,
    round_trips: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(latencies: &mut [Duration]) -> (Duration, Duration, Duration) {
    latencies.sort();
    let total = latencies.iter().sum();
    (
        total,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let leads: usize = if benching {
        std::env::var("E2E_LEADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400)
    } else {
        10
    };
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run `bash scripts/bench.sh` (or scripts/test.sh), which starts moto"
    );
    let sdk = call_events::app::sdk_config().await;
    let prefix = format!(
        "bench{}",
        chrono::Utc::now().timestamp_micros() % 1_000_000_000
    );
    // The measured table, with the stream the relay reads (and the test support's pump).
    let aws = TestAws::new().await;
    let resources = aws.resources.clone();
    let cold_resources = local::create(&sdk, &format!("{prefix}c"))
        .await
        .expect("creating the cold-instance resources");
    let floor_resources = local::create(&sdk, &format!("{prefix}f"))
        .await
        .expect("creating floor resources");
    let counter = CallRecorder::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let secret = Secret::new(SECRET).unwrap();
    let handler = WebhookHandler::new(
        Verifier::new(vec![secret.clone()], 300),
        CallEventRecorder::new(DynamoLeadStore::new(
            dynamodb.clone(),
            &resources.table_name,
        )),
    );

    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let bodies = workload(leads, &mut rng);
    // Warm the connection pool and the SDK's lazy state outside the measurement.
    for _ in 0..3 {
        let _ = dynamodb.list_tables().send().await;
        let _ = sqs.list_queues().send().await;
    }
    counter.take();

    // Each delivery through the handler, then at once the floor: the very calls it made
    // (same inputs, recorded by the interceptor), issued bare with the same clients against
    // a second table and queue set. Interleaving keeps both under the same emulator load.
    let floor_queue = |url: &str| url.replacen(&format!("/{prefix}-"), &format!("/{prefix}f-"), 1);
    let mut deliveries = Vec::with_capacity(bodies.len());
    let mut relay_delays = Vec::new();
    for body in &bodies {
        let request =
            lambda_http::request::from_str(&http_event(body, &secret).to_string()).unwrap();
        let started = Instant::now();
        let (response, report) = handler.respond(&request).await;
        std::hint::black_box(report.to_log_line(0));
        let latency = started.elapsed();
        assert_eq!(response.status().as_u16(), 200, "{report:?}");
        let (calls, round_trips) = counter.take();

        let started = Instant::now();
        for call in &calls {
            let floor_table = floor_resources.table_name.as_str();
            match call.clone() {
                Call::GetItem(i) => drop(
                    dynamodb
                        .get_item()
                        .table_name(floor_table)
                        .set_key(i.key)
                        .set_consistent_read(i.consistent_read)
                        .send()
                        .await
                        .unwrap(),
                ),
                // The same conditional writes in the same order: the same ones fail.
                Call::PutItem(i) => drop(
                    dynamodb
                        .put_item()
                        .table_name(floor_table)
                        .set_item(i.item)
                        .set_condition_expression(i.condition_expression)
                        .set_expression_attribute_names(i.expression_attribute_names)
                        .set_expression_attribute_values(i.expression_attribute_values)
                        .set_return_values_on_condition_check_failure(
                            i.return_values_on_condition_check_failure,
                        )
                        .send()
                        .await,
                ),
                Call::UpdateItem(i) => drop(
                    dynamodb
                        .update_item()
                        .table_name(floor_table)
                        .set_key(i.key)
                        .set_update_expression(i.update_expression)
                        .set_condition_expression(i.condition_expression)
                        .set_expression_attribute_names(i.expression_attribute_names)
                        .set_expression_attribute_values(i.expression_attribute_values)
                        .send()
                        .await
                        .unwrap(),
                ),
                Call::SendMessage(i) => drop(
                    sqs.send_message()
                        .queue_url(floor_queue(i.queue_url.as_deref().unwrap_or_default()))
                        .set_message_body(i.message_body)
                        .set_message_attributes(i.message_attributes)
                        .set_message_group_id(i.message_group_id)
                        .set_message_deduplication_id(i.message_deduplication_id)
                        .send()
                        .await
                        .unwrap(),
                ),
                Call::Other(name) => panic!("the floor does not know {name}"),
            }
        }
        let floor = started.elapsed();
        counter.take();

        // What this write decided leaves through the stream: read it and relay it now, as
        // the event source mapping would, timing the write-to-SQS delay.
        if !report.effects.is_empty() {
            let relayed = aws.pump().await;
            assert!(relayed.iter().all(|r| r.retry_from.is_none()));
            relay_delays.push(started.elapsed() - floor);
        }

        let outcome = match (report.outcome.as_str(), report.effects.as_slice()) {
            ("processed", []) if report.callback_suppressed => {
                "processed, callback suppressed".to_owned()
            }
            ("processed", []) => "processed, no effect".to_owned(),
            ("processed", effects) => format!("processed, with {}", effects.join("+")),
            (other, _) => other.to_owned(),
        };
        let outcome = format!("warm: {outcome}");
        let calls = calls.iter().map(|c| c.operation().to_owned()).collect();
        deliveries.push(Delivery {
            outcome,
            latency,
            floor,
            calls,
            round_trips,
        });
    }

    let mut handler_latencies: Vec<Duration> = deliveries.iter().map(|d| d.latency).collect();
    let (handler_total, handler_p50, handler_p99) = summary(&mut handler_latencies);
    let mut floor_latencies: Vec<Duration> = deliveries.iter().map(|d| d.floor).collect();
    let (floor_total, floor_p50, floor_p99) = summary(&mut floor_latencies);
    let n = deliveries.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "e2e: {n} deliveries, {leads} leads, against moto at {}",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_default()
    );
    println!(
        "  handler: {:8.1} events/s   p50 {:6.2} ms   p99 {:6.2} ms",
        n as f64 / handler_total.as_secs_f64(),
        ms(handler_p50),
        ms(handler_p99)
    );
    println!(
        "  floor:   {:8.1} events/s   p50 {:6.2} ms   p99 {:6.2} ms",
        n as f64 / floor_total.as_secs_f64(),
        ms(floor_p50),
        ms(floor_p99)
    );
    println!(
        "  handler/floor time ratio: {:.3}",
        handler_total.as_secs_f64() / floor_total.as_secs_f64()
    );

    relay_delays.sort();
    if !relay_delays.is_empty() {
        println!(
            "  relay, committed write to message on SQS (read the stream + send), {} writes with messages: p50 {:6.2} ms   p99 {:6.2} ms",
            relay_delays.len(),
            ms(percentile(&relay_delays, 0.5)),
            ms(percentile(&relay_delays, 0.99))
        );
    }

    // Cold instances: the same workload, each delivery to a new instance (empty cache).
    let cold_instance = || {
        WebhookHandler::new(
            Verifier::new(vec![secret.clone()], 300),
            CallEventRecorder::new(DynamoLeadStore::new(
                dynamodb.clone(),
                &cold_resources.table_name,
            )),
        )
    };
    counter.take();
    for body in &bodies {
        let request =
            lambda_http::request::from_str(&http_event(body, &secret).to_string()).unwrap();
        let (response, report) = cold_instance().respond(&request).await;
        assert_eq!(response.status().as_u16(), 200, "{report:?}");
        let (calls, round_trips) = counter.take();
        let outcome = match (report.outcome.as_str(), report.effects.as_slice()) {
            ("processed", []) => "processed, no effect".to_owned(),
            ("processed", effects) => format!("processed, with {}", effects.join("+")),
            (other, _) => other.to_owned(),
        };
        deliveries.push(Delivery {
            outcome: format!("cold: {outcome}"),
            latency: Duration::ZERO,
            floor: Duration::ZERO,
            calls: calls.iter().map(|c| c.operation().to_owned()).collect(),
            round_trips,
        });
    }

    cache_hit_rates(&bodies).await;

    // Calls per delivery by outcome, and what a million deliveries cost.
    let mut by_outcome: BTreeMap<&str, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    for d in &deliveries {
        let entry = by_outcome.entry(&d.outcome).or_default();
        entry.0 += 1;
        *entry.1.entry("round trips").or_default() += d.round_trips;
        for call in &d.calls {
            *entry.1.entry(call).or_default() += 1;
        }
    }
    // The size of the items the handler wrote decides the write units per write.
    let items = dynamodb
        .scan()
        .table_name(&resources.table_name)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    counter.take();
    let sizes: Vec<usize> = items.iter().map(item_size).collect();
    let mean_size = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    let max_size = sizes.iter().copied().max().unwrap_or(0);
    // Each write is billed per started KiB; the final item is each lead's largest.
    let write_units = sizes.iter().map(|s| s.div_ceil(1024).max(1)).sum::<usize>() as f64
        / sizes.len().max(1) as f64;
    println!(
        "  lead item size: mean {mean_size:.0} B, max {max_size} B -> {write_units:.2} write units per PutItem/UpdateItem (at most)"
    );

    // us-east-1 on-demand list prices (USD): DynamoDB $0.625 per million write request
    // units and $0.125 per million read request units; SQS FIFO $0.50 per million requests
    // (64 KiB chunks); Lambda arm64 $0.20 per million requests + $0.0000133334 per GB-s;
    // HTTP API $1.00 per million requests. A strongly consistent read of an item under 4
    // KiB is one read unit; a write costs one write unit per started KiB of the item
    // (measured above). The Lambda duration is the measured p50 at 128 MB.
    let lambda_cost = 0.20 + 0.000_013_333_4 * 0.125 * handler_p50.as_secs_f64() * 1e6;
    println!(
        "  calls per delivery (each its own sequential round trip) and cost per million deliveries:"
    );
    let mut mix_cost = 0.0;
    for (outcome, (count, calls)) in &by_outcome {
        let per = |op: &str| *calls.get(op).unwrap_or(&0) as f64 / *count as f64;
        let (get, put, update, send) = (
            per("GetItem"),
            per("PutItem"),
            per("UpdateItem"),
            per("SendMessage"),
        );
        let aws_cost = get * 0.125 + (put + update) * write_units * 0.625 + send * 0.50;
        let total = aws_cost + lambda_cost + 1.0;
        if outcome.starts_with("warm") {
            mix_cost += total * *count as f64 / n as f64;
        }
        println!(
            "    {outcome:32} n={count:5}  GetItem {get:.2}  PutItem {put:.2}  UpdateItem {update:.2}  SendMessage {send:.2}  = {:.2} calls, {:.2} round trips   ${total:.2}/M (AWS calls ${aws_cost:.2})",
            get + put + update + send,
            per("round trips")
        );
    }
    println!(
        "  this mix, warm: ${mix_cost:.2} per million deliveries (incl. Lambda ${lambda_cost:.2} and HTTP API $1.00; the relay's invocations and SendMessage come on top for deliveries with messages)"
    );
}

/// How often an instance's cache holds a lead's current version, when the same trace is
/// spread at random over 1, 4 and 16 instances (Lambda routes each request to any idle
/// instance). In memory: only the number of writes per delivery matters here.
async fn cache_hit_rates(bodies: &[String]) {
    let events: Vec<_> = bodies
        .iter()
        .filter_map(|b| match parse_body(b.as_bytes()) {
            Ok(Inbound::Call(e)) => Some(e),
            _ => None,
        })
        .collect();
    println!(
        "  cache hit rate on this trace (leads' events minutes apart, interleaved), in memory:"
    );
    for instances in [1usize, 4, 16] {
        let store = MemoryLeadStore::new();
        let webhooks: Vec<_> = (0..instances)
            .map(|_| CallEventRecorder::new(store.clone()))
            .collect();
        let mut rng = Rng(0x0dd_ba11 + instances as u64);
        let (mut one_or_none, mut total_writes) = (0usize, 0usize);
        for event in &events {
            let before = store.writes();
            let evidence = call_events::core::register::Evidence {
                received_at: String::new(),
                signature_header: String::new(),
                body: String::new(),
                body_base64: None,
            };
            webhooks[rng.below(instances)]
                .record(event, &evidence)
                .await
                .unwrap();
            let writes = store.writes() - before;
            total_writes += writes;
            one_or_none += usize::from(writes <= 1);
        }
        println!(
            "    {instances:2} instance(s): {:5.1}% of deliveries answered with at most 1 call, {:.3} calls per delivery",
            100.0 * one_or_none as f64 / events.len() as f64,
            total_writes as f64 / events.len() as f64
        );
    }
}
