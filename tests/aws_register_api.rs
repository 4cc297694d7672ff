//! The register's read routes (docs/contract.md §9) on moto, through the real SDK and the
//! function's own wiring: a check of 100 phones behind the fault proxy (`UnprocessedKeys`,
//! throttling) answers every phone as the register holds it, and a register that never
//! answers is a `503`, never a phone reported callable.

mod support;

use std::time::{Duration, Instant};

use call_events::adapters::DynamoDncRegister;
use call_events::core::domain::Timestamp;
use call_events::entrypoints::api::{ApiEvent, ApiHandler};
use call_events::usecases::ask::DEADLINE;
use call_events::usecases::relay::SWEEP_GRACE;
use serde_json::json;
use support::aws::{TestAws, body_json};
use support::fault_proxy::{Fault, FaultProxy};
use support::register::put_key9_entries;

fn check(phones: &[String]) -> ApiEvent {
    let body = json!({ "phones": phones }).to_string();
    ApiEvent::read(json!({
        "version": "2.0",
        "routeKey": "POST /v1/opt-outs/check",
        "rawPath": "/v1/opt-outs/check",
        "body": body,
        "isBase64Encoded": false,
        "requestContext": {
            "requestId": "req-check",
            "http": { "method": "POST", "path": "/v1/opt-outs/check" },
            "authorizer": { "iam": { "userArn": "arn:aws:iam::123456789012:user/dialer" } }
        }
    }))
}

#[tokio::test]
async fn a_check_of_100_phones_behind_unprocessed_keys_and_throttling_answers_each_phone() {
    let aws = TestAws::new().await;
    let phones: Vec<String> = (0..100)
        .map(|i| format!("+1303555{:04}", 2000 + i))
        .collect();
    let listed: Vec<String> = phones.iter().step_by(4).cloned().collect();
    put_key9_entries(&aws, &listed, "api").await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.endpoint);
    let register = DynamoDncRegister::new(
        aws_sdk_dynamodb::Client::from_conf(conf.build()),
        &aws.resources.dnc_table_name,
    );
    let api = ApiHandler::new(register.clone(), register, DEADLINE);
    let event = check(&phones);

    proxy.inject(&[
        Fault::Unprocessed,
        Fault::Throttle,
        Fault::Unprocessed,
        Fault::Unprocessed,
    ]);
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    for (phone, result) in phones.iter().zip(results) {
        assert_eq!(result["phone"], json!(phone));
        assert_eq!(
            result["onRegister"],
            json!(listed.contains(phone)),
            "{phone}"
        );
    }
    assert!(
        results[0]["kinds"] == json!(["signed"]) && results[0]["requestState"] == json!("sent")
    );
    let operations = proxy.operations();
    assert!(
        operations.iter().all(|op| op.ends_with(".BatchGetItem")),
        "reads only: {operations:?}"
    );
    assert!(operations.len() >= 5, "the faults were met: {operations:?}");

    // A register that never answers every key: the whole answer is a 503, in time.
    proxy.break_with(Fault::Unprocessed);
    let started = Instant::now();
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body, json!({"error": "backend_unavailable"}));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Throttled on every attempt: the same.
    proxy.break_with(Fault::Throttle);
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    proxy.heal();
    let (answer, _) = api.respond(&event).await;
    assert_eq!(answer.status, 200);
}

fn opt_out(principal: &str, body: &str) -> ApiEvent {
    ApiEvent::read(json!({
        "version": "2.0",
        "routeKey": "POST /v1/opt-outs",
        "rawPath": "/v1/opt-outs",
        "body": body,
        "isBase64Encoded": false,
        "requestContext": {
            "requestId": "req-opt-out",
            "http": { "method": "POST", "path": "/v1/opt-outs", "sourceIp": "10.9.8.7" },
            "authorizer": { "iam": { "userArn": principal } }
        }
    }))
}

#[tokio::test]
async fn an_agent_s_opt_out_is_on_the_register_before_the_answer_and_its_request_leaves_once() {
    let aws = TestAws::new().await;
    let register = DynamoDncRegister::new(aws.dynamodb.clone(), &aws.resources.dnc_table_name);
    let api = ApiHandler::new(register.clone(), register, DEADLINE);
    let principal = "arn:aws:sts::123456789012:assumed-role/agent-desk/s";
    let body = r#"{"phone":"+13035550400","channel":"agent","reference":"call-1"}"#;
    let (answer, log) = api.respond(&opt_out(principal, body)).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["requestState"], json!("pending"));
    assert_eq!(log["caller"], json!(principal));
    // On the register before the answer: the next GET reads it.
    let (lookup, _) = api.respond(&check(&["+13035550400".to_owned()])).await;
    assert_eq!(lookup.body["results"][0]["onRegister"], json!(true));
    assert_eq!(lookup.body["results"][0]["kinds"], json!(["api"]));
    // A retry answers the same and adds nothing.
    let (again, _) = api.respond(&opt_out(principal, body)).await;
    assert_eq!(again, answer);

    // The sweep sends its request (past its grace), once.
    let relay = aws.relay();
    let later = Timestamp::now().to_unix_parts().0 + SWEEP_GRACE.as_secs() as i64 + 1;
    let later = Timestamp::from_unix_parts(later, 0).unwrap();
    for round in 0..2 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
        support::finished(relay.relay().sweep(later, deadline).await);
        let sent = aws.drain_only(&aws.resources.queues.dnc).await;
        if round == 1 {
            assert!(sent.is_empty(), "sent once: {sent:?}");
            break;
        }
        assert_eq!(sent.len(), 1);
        let message = body_json(&sent[0]);
        assert_eq!(message["phone"], "+13035550400");
        assert_eq!(message["reason"], "opt_out");
        assert_eq!(message["source"]["eventType"], "api");
        assert_eq!(message["evidence"]["kind"], "api");
        assert_eq!(message["evidence"]["principal"], principal);
        assert_eq!(message["evidence"]["channel"], "agent");
        assert_eq!(message["evidence"]["body"], body);
        let parsed = call_events_messages::Message::from_json(sent[0].body().unwrap());
        assert!(parsed.is_ok(), "the message crate reads it: {parsed:?}");
    }
    let (after, _) = api.respond(&check(&["+13035550400".to_owned()])).await;
    assert_eq!(after.body["results"][0]["requestState"], json!("sent"));

    // `prove` shows who recorded it and says it rests on the company's own record (exit
    // 4, as an import); `export` and `scrub --removed` name its kind and channel.
    let dnc = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_call-events-dnc"))
            .args(args)
            .env("TABLE_NAME", &aws.resources.table_name)
            .env("DNC_TABLE_NAME", &aws.resources.dnc_table_name)
            .env("WEBHOOK_SECRET", support::aws::LOCAL_SECRET)
            .env_remove("WEBHOOK_SECRET_ARN")
            .output()
            .unwrap()
    };
    let proved = dnc(&["prove", "+13035550400"]);
    let said = String::from_utf8_lossy(&proved.stdout);
    assert_eq!(proved.status.code(), Some(4), "{said}");
    assert!(said.starts_with("RECORDED, NOT SIGNED"), "{said}");
    assert!(said.contains(principal) && said.contains("agent"), "{said}");
    let json = dnc(&["prove", "+13035550400", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["kind"], "api");
    assert_eq!(json["verdict"], "recorded");
    assert_eq!(json["recorded"]["principal"], principal);
    assert_eq!(json["recorded"]["body"], body);
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("dial.csv");
    std::fs::write(&list, "phone\n+13035550400\n").unwrap();
    let removed = tmp.path().join("removed.csv");
    let scrubbed = dnc(&[
        "scrub",
        list.to_str().unwrap(),
        "--out",
        tmp.path().join("kept.csv").to_str().unwrap(),
        "--removed",
        removed.to_str().unwrap(),
    ]);
    assert_eq!(scrubbed.status.code(), Some(0));
    let removed = std::fs::read_to_string(&removed).unwrap();
    assert!(removed.contains(",opt_out,api,agent,"), "{removed}");
    let exported = dnc(&["export", "--format", "csv"]);
    let exported = String::from_utf8_lossy(&exported.stdout).into_owned();
    assert!(
        exported.starts_with("phone,")
            && exported.lines().next().unwrap().ends_with(",kind,channel"),
        "{exported}"
    );
    let row = exported
        .lines()
        .find(|l| l.starts_with("+13035550400"))
        .unwrap();
    assert!(row.ends_with(",api,agent"), "{row}");
}
