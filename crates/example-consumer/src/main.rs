//! The example consumer as a Lambda function on the callback and DNC queues.
//!
//! Environment: see [`example_consumer::config`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_smithy_http_client::tls;
use example_consumer::config::Settings;
use example_consumer::dynamodb::{DynamoDncRegister, DynamoIdempotency};
use example_consumer::{Consumer, LoggingActions};
use lambda_runtime::{Error, LambdaEvent, service_fn};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = match Settings::read(|name| std::env::var(name).ok()) {
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
    // A few quick attempts, each well inside the function's 20 s timeout: a stuck call
    // fails its message (retried) instead of timing the whole batch out.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let consumer = Consumer::new(
        LoggingActions,
        DynamoIdempotency::new(
            client.clone(),
            settings.idempotency_table,
            settings.ttl_seconds,
        ),
        DynamoDncRegister::new(client, settings.dnc_table),
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
