//! Cold start of each function: configuration, AWS clients (built once, from the
//! environment, so `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_*` work) and,
//! for the webhook, the secret.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::adapters::dynamodb::stream::decode_new_image;
use crate::adapters::{
    DynamoDncRegister, DynamoLeadStore, DynamoStreamShards, SecretsManagerSecrets,
};
use crate::adapters::{S3FailureArchive, SqsPublisher, SqsQuarantineQueue};
use crate::config::{
    Config, ConfigError, ProveConfig, RelayConfig, ReplayConfig, SecretSource, parse_secrets,
};
use crate::core::signature::{DEFAULT_TOLERANCE_SECONDS, Secret, Verifier};
use crate::entrypoints::http::WebhookHandler;
use crate::entrypoints::stream::StreamHandler;
use crate::telemetry::error_chain;
use crate::usecases::keyring::Keyring;
use crate::usecases::record::CallEventRecorder;
use crate::usecases::relay::Relay;
use crate::usecases::replay::{Replay, Trust};

pub type LiveHandler = WebhookHandler<DynamoLeadStore, SecretsManagerSecrets>;
pub type LiveRelay = StreamHandler<
    SqsPublisher,
    DynamoDncRegister,
    DynamoLeadStore,
    DynamoStreamShards,
    S3FailureArchive,
>;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read the webhook secret from Secrets Manager: {0}")]
    SecretUnavailable(String),
}

/// The HTTPS client every AWS client shares: rustls with ring, the only TLS stack in the
/// binary (the SDK's default would bring aws-lc, larger and slower to initialise).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK configuration: a few quick attempts, each well inside the function's timeout
/// (and the webhook's own deadline, `record::DEADLINE`), so a failing backend turns into a
/// 503 the sender retries rather than a timeout.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        )
        .load()
        .await
}

pub async fn start() -> Result<LiveHandler, StartupError> {
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    build(&config, &sdk).await
}

pub async fn build(config: &Config, sdk: &SdkConfig) -> Result<LiveHandler, StartupError> {
    let (secrets, source) = match &config.secrets {
        SecretSource::Inline(secrets) => (secrets.clone(), None),
        SecretSource::SecretsManager { arn } => {
            let source = SecretsManagerSecrets::new(aws_sdk_secretsmanager::Client::new(sdk), arn);
            (read_secret(sdk, arn).await?, Some(source))
        }
    };
    let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name);
    // During init: the first delivery finds the connection open.
    store.warm_up().await;
    let verifier = Verifier::new(secrets, config.tolerance_seconds).accepting_v1(config.accept_v1);
    Ok(WebhookHandler::with_keyring(
        Keyring::new(verifier, source),
        CallEventRecorder::new(store),
    ))
}

pub type LiveReplay = Replay<SqsQuarantineQueue, DynamoLeadStore>;

/// The replay command on the deployed table and quarantine queue, verifying with the
/// webhook's secrets.
pub async fn build_replay(
    config: &ReplayConfig,
    sdk: &SdkConfig,
    trust: Trust,
) -> Result<LiveReplay, StartupError> {
    let webhook = &config.webhook;
    let secrets = match &webhook.secrets {
        SecretSource::Inline(secrets) => secrets.clone(),
        SecretSource::SecretsManager { arn } => read_secret(sdk, arn).await?,
    };
    let store = DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(sdk), &webhook.table_name);
    let queue =
        SqsQuarantineQueue::new(aws_sdk_sqs::Client::new(sdk), &config.quarantine_queue_url);
    let recorder = CallEventRecorder::new(store);
    Ok(Replay::new(
        queue,
        recorder,
        secrets,
        webhook.accept_v1,
        trust,
    ))
}

pub async fn start_relay() -> Result<LiveRelay, StartupError> {
    let config = RelayConfig::from_env()?;
    let sdk = sdk_config().await;
    Ok(build_relay(&config, &sdk))
}

pub fn build_relay(config: &RelayConfig, sdk: &SdkConfig) -> LiveRelay {
    let publisher = SqsPublisher::new(aws_sdk_sqs::Client::new(sdk), config.queues.clone());
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let register = DynamoDncRegister::new(dynamodb.clone(), &config.dnc_table_name);
    let lot = DynamoLeadStore::new(dynamodb, &config.table_name);
    let shards = DynamoStreamShards::new(aws_sdk_dynamodbstreams::Client::new(sdk));
    let archive = S3FailureArchive::new(aws_sdk_s3::Client::new(sdk));
    StreamHandler::new(
        Relay::new(publisher, register, lot),
        shards,
        archive,
        decode_new_image,
    )
}

/// The secrets a kept signature is checked with (`call-events-dnc prove` and `export`):
/// the webhook's, read once, with no limit on a signature's age.
pub async fn evidence_verifier(
    config: &ProveConfig,
    sdk: &SdkConfig,
) -> Result<Verifier, StartupError> {
    let secrets = match &config.secrets {
        SecretSource::Inline(secrets) => secrets.clone(),
        SecretSource::SecretsManager { arn } => read_secret(sdk, arn).await?,
    };
    // The age of a kept signature is not held against it (`verify_kept`).
    Ok(Verifier::new(secrets, DEFAULT_TOLERANCE_SECONDS).accepting_v1(config.accept_v1))
}

/// The secret's value is the list of client secrets, comma- or newline-separated.
async fn read_secret(sdk: &SdkConfig, arn: &str) -> Result<Vec<Secret>, StartupError> {
    let output = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| StartupError::SecretUnavailable(error_chain(&e)))?;
    let value = output
        .secret_string()
        .ok_or_else(|| StartupError::SecretUnavailable("the secret has no string value".into()))?;
    Ok(parse_secrets("WEBHOOK_SECRET_ARN", value)?)
}
