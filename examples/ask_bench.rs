//! Asking the register through its API (docs/contract.md §9), timed on moto: the
//! function's handler answering `GET /v1/opt-outs/{phone}` and `POST /v1/opt-outs/check`
//! (100 phones), each beside the bare read it rests on (a consistent GetItem of the same
//! entry; a consistent BatchGetItem of the same 100 keys), interleaved request by request so
//! both meet the same emulator load. Then the handler's own work alone, over the in-memory
//! register (no I/O): what the function adds to its one read. `scripts/bench.sh` part 10:
//!
//!   cargo run --release --example ask_bench -- [ROUNDS]   # AWS_ENDPOINT_URL: moto

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use call_events::adapters::MemoryDncRegister;
use call_events::app::build_api;
use call_events::config::ApiConfig;
use call_events::entrypoints::api::{ApiEvent, ApiHandler};
use serde_json::json;

type Item = HashMap<String, AttributeValue>;

fn phone(i: usize) -> String {
    format!("+1202{:07}", 3_000_000 + i)
}

fn entry(phone: &str) -> Item {
    HashMap::from([
        ("phone".to_owned(), AttributeValue::S(phone.to_owned())),
        (
            "dncAt".to_owned(),
            AttributeValue::S("2024-01-26T12:00:00.000Z".into()),
        ),
        ("reason".to_owned(), AttributeValue::S("keypress_9".into())),
        ("requestState".to_owned(), AttributeValue::S("sent".into())),
    ])
}

fn event(method: &str, path: &str, body: Option<String>) -> ApiEvent {
    ApiEvent::read(json!({
        "version": "2.0",
        "rawPath": path,
        "body": body,
        "requestContext": {
            "requestId": "bench",
            "http": { "method": method, "path": path },
            "authorizer": { "iam": { "userArn": "arn:aws:iam::123456789012:user/dialer" } }
        }
    }))
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000);
    let sdk = call_events::app::sdk_config().await;
    let prefix = format!("ask{}", std::process::id());
    let resources = call_events_local::create(&sdk, &prefix)
        .await
        .expect("moto answers");
    let table = resources.dnc_table_name.clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let phones: Vec<String> = (0..200).map(phone).collect();
    // Every other phone on the register.
    for p in phones.iter().step_by(2) {
        dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(entry(p)))
            .send()
            .await
            .expect("moto takes it");
    }
    let api = build_api(
        &ApiConfig {
            dnc_table_name: table.clone(),
        },
        &sdk,
    );
    let check: Vec<String> = phones[..100].to_vec();
    let check_body = json!({ "phones": check }).to_string();
    let keys: Vec<Item> = check
        .iter()
        .map(|p| HashMap::from([("phone".to_owned(), AttributeValue::S(p.clone()))]))
        .collect();

    let (mut get, mut get_floor, mut get_batch, mut many, mut many_floor) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let p = &phones[round % phones.len()];
        let started = Instant::now();
        let (answer, _) = api
            .respond(&event("GET", &format!("/v1/opt-outs/{p}"), None))
            .await;
        get.push(started.elapsed());
        assert_eq!(answer.status, 200, "{}", answer.body);
        let started = Instant::now();
        dynamodb
            .get_item()
            .table_name(&table)
            .key("phone", AttributeValue::S(p.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("moto answers");
        get_floor.push(started.elapsed());
        // The read the handler sends for one phone: a BatchGetItem of its key.
        let started = Instant::now();
        let one = KeysAndAttributes::builder()
            .keys(HashMap::from([(
                "phone".to_owned(),
                AttributeValue::S(p.clone()),
            )]))
            .consistent_read(true)
            .build()
            .expect("a key");
        dynamodb
            .batch_get_item()
            .request_items(&table, one)
            .send()
            .await
            .expect("moto answers");
        get_batch.push(started.elapsed());
        if round % 10 == 0 {
            let started = Instant::now();
            let (answer, _) = api
                .respond(&event(
                    "POST",
                    "/v1/opt-outs/check",
                    Some(check_body.clone()),
                ))
                .await;
            many.push(started.elapsed());
            assert_eq!(answer.status, 200, "{}", answer.body);
            let started = Instant::now();
            let asked = KeysAndAttributes::builder()
                .set_keys(Some(keys.clone()))
                .consistent_read(true)
                .build()
                .expect("keys");
            dynamodb
                .batch_get_item()
                .request_items(&table, asked)
                .send()
                .await
                .expect("moto answers");
            many_floor.push(started.elapsed());
        }
    }
    let row = |name: &str, handler: Vec<Duration>, floor: Vec<Duration>| {
        let n = handler.len();
        let (p50, p99) = percentiles(handler);
        let (f50, f99) = percentiles(floor);
        println!(
            "{name}: {n} requests; handler p50 {p50:.2} ms, p99 {p99:.2} ms; bare read p50 {f50:.2} ms, p99 {f99:.2} ms; p50 ratio {:.3}",
            p50 / f50
        );
    };
    row("GET /v1/opt-outs/{phone}", get.clone(), get_floor);
    row(
        "GET /v1/opt-outs/{phone} beside a BatchGetItem of its key",
        get,
        get_batch,
    );
    row("POST /v1/opt-outs/check (100)", many, many_floor);

    // The handler's own work: the same requests over the in-memory register.
    let memory = MemoryDncRegister::new();
    for p in phones.iter().step_by(2) {
        memory.put_raw(p, entry(p));
    }
    let api = ApiHandler::new(memory.clone(), memory, Duration::from_secs(5));
    for (name, event, n) in [
        (
            "GET",
            event("GET", &format!("/v1/opt-outs/{}", phones[0]), None),
            100_000u32,
        ),
        (
            "check of 100",
            event("POST", "/v1/opt-outs/check", Some(check_body)),
            5_000,
        ),
    ] {
        let started = Instant::now();
        for _ in 0..n {
            let (answer, log) = api.respond(&event).await;
            std::hint::black_box((answer.into_response(), log.to_string()));
        }
        println!(
            "the handler's own work, {name} (in memory, answer and log line rendered): {:.1} µs",
            started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
    }
}
