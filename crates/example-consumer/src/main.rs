//! The example consumer as a Lambda function on the callback and DNC queues.
//!
//! Environment: `IDEMPOTENCY_TABLE_NAME` (partition key `id`, TTL on `expiration`),
//! `DNC_TABLE_NAME` (the receiver's DNC register), `IDEMPOTENCY_TTL_SECONDS` (default 14
//! days: the longest an SQS message lives).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_smithy_http_client::tls;
use example_consumer::dynamodb::{DynamoDncRegister, DynamoIdempotency};
use example_consumer::{Consumer, LoggingActions};
use lambda_runtime::{Error, LambdaEvent, service_fn};

const DEFAULT_TTL_SECONDS: u64 = 14 * 24 * 3600;

fn setting(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(format!("{name} is not set")),
    }
}

fn ttl_seconds() -> Result<u64, String> {
    match std::env::var("IDEMPOTENCY_TTL_SECONDS") {
        Err(_) => Ok(DEFAULT_TTL_SECONDS),
        Ok(raw) => match raw.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(seconds),
            _ => Err(format!(
                "IDEMPOTENCY_TTL_SECONDS must be a positive number of seconds, not {raw:?}"
            )),
        },
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = (|| {
        Ok::<_, String>((
            setting("IDEMPOTENCY_TABLE_NAME")?,
            setting("DNC_TABLE_NAME")?,
            ttl_seconds()?,
        ))
    })();
    let (idempotency_table, register_table, ttl) = match settings {
        Ok(settings) => settings,
        Err(why) => {
            eprintln!("call-events-example-consumer cannot start: {why}");
            std::process::exit(1);
        }
    };
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let consumer = Consumer::new(
        LoggingActions,
        DynamoIdempotency::new(client.clone(), idempotency_table, ttl),
        DynamoDncRegister::new(client, register_table),
    );
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response = consumer
            .handle(&event.payload, now_ms(), event.context.deadline)
            .await;
        Ok::<_, std::convert::Infallible>(response)
    }))
    .await
}
