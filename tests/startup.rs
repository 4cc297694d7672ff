//! The binary at cold start: a missing or invalid variable stops it with one clear line
//! naming it; without a secret it does not start (fail closed); the secret can come from
//! Secrets Manager.

mod support;

use std::process::Command;

use call_events::config::{Config, SecretSource};
use serde_json::json;
use support::aws::{TestAws, deliver, resign, sample};

const BINARY: &str = env!("CARGO_BIN_EXE_call-events-receiver");

/// Runs the binary with exactly `vars` in its environment; returns its exit status and
/// stderr.
fn start_with(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(BINARY)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const COMPLETE: [(&str, &str); 4] = [
    ("TABLE_NAME", "leads"),
    (
        "CALLBACK_QUEUE_URL",
        "http://127.0.0.1:9/000000000000/cb.fifo",
    ),
    ("DNC_QUEUE_URL", "http://127.0.0.1:9/000000000000/dnc.fifo"),
    ("QUARANTINE_QUEUE_URL", "http://127.0.0.1:9/000000000000/q"),
];

#[test]
fn missing_variable_stops_the_function_with_one_line_naming_it() {
    let (code, stderr) = start_with(&COMPLETE[1..]);
    assert_ne!(code, Some(0));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("TABLE_NAME is not set"), "{stderr}");
}

#[test]
fn no_secret_configured_stops_the_function() {
    let (code, stderr) = start_with(&COMPLETE);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("no webhook secret"), "{stderr}");
}

#[test]
fn short_secret_is_named_and_not_printed() {
    let mut vars = COMPLETE.to_vec();
    vars.push(("WEBHOOK_SECRET", "tooshort"));
    let (code, stderr) = start_with(&vars);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("WEBHOOK_SECRET is invalid"), "{stderr}");
    assert!(!stderr.contains("tooshort"), "{stderr}");
}

#[tokio::test]
async fn secret_is_read_from_secrets_manager_at_start() {
    let aws = TestAws::new().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    let rotated = "rotated-secret-0123456789";
    let created = secrets
        .create_secret()
        .name(format!("{}-webhook", aws.resources.table_name))
        .secret_string(format!("{rotated},{}", support::aws::LOCAL_SECRET))
        .send()
        .await
        .unwrap();
    let config = Config {
        secrets: SecretSource::SecretsManager {
            arn: created.arn().unwrap().to_owned(),
        },
        ..aws.config(&[support::aws::LOCAL_SECRET])
    };
    let handler = call_events::app::build(&config, &aws.sdk).await.unwrap();
    for secret in [rotated, support::aws::LOCAL_SECRET] {
        let (status, _) = deliver(&handler, &resign(sample("02-call-received.json"), secret)).await;
        assert_eq!(status, 200);
    }
    let (status, answer) = deliver(
        &handler,
        &resign(sample("02-call-received.json"), "another-secret-0123456789"),
    )
    .await;
    assert_eq!((status, answer), (401, json!({"error": "unauthorized"})));

    let missing = Config {
        secrets: SecretSource::SecretsManager {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf".into(),
        },
        ..aws.config(&[support::aws::LOCAL_SECRET])
    };
    let error = call_events::app::build(&missing, &aws.sdk)
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .starts_with("cannot read the webhook secret"),
        "{error}"
    );
}

const RELAY_BINARY: &str = env!("CARGO_BIN_EXE_call-events-relay");

#[test]
fn relay_with_a_missing_queue_stops_with_one_line_naming_it() {
    let output = Command::new(RELAY_BINARY)
        .env_clear()
        .envs(COMPLETE[..3].iter().copied())
        .env("DNC_TABLE_NAME", "dnc-register")
        .output()
        .expect("the relay binary runs");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("QUARANTINE_QUEUE_URL is not set"),
        "{stderr}"
    );
}

#[test]
fn relay_without_the_register_stops_with_one_line_naming_it() {
    let output = Command::new(RELAY_BINARY)
        .env_clear()
        .envs(COMPLETE.iter().copied())
        .output()
        .expect("the relay binary runs");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DNC_TABLE_NAME is not set"), "{stderr}");
}

#[test]
fn relay_without_the_lead_table_stops_with_one_line_naming_it() {
    let output = Command::new(RELAY_BINARY)
        .env_clear()
        .envs(COMPLETE[1..].iter().copied())
        .env("DNC_TABLE_NAME", "dnc-register")
        .output()
        .expect("the relay binary runs");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TABLE_NAME is not set"), "{stderr}");
}
