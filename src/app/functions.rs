//! The functions' start-up: each one's clients and handler, built once at cold start.

use aws_config::SdkConfig;

use super::{StartupError, read_secret, sdk_config};
use crate::adapters::dynamodb::stream::decode_new_image;
use crate::adapters::{
    DynamoDncRegister, DynamoLeadStore, DynamoStreamShards, SecretsManagerSecrets,
};
use crate::adapters::{S3FailureArchive, SqsPublisher, SqsQuarantineQueue};
use crate::config::{Config, RelayConfig, ReplayConfig, SecretSource};
use crate::core::signature::Verifier;
use crate::entrypoints::http::WebhookHandler;
use crate::entrypoints::stream::StreamHandler;
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

/// The register API's handler, as it runs in Lambda.
pub type LiveApi = crate::entrypoints::api::ApiHandler<DynamoDncRegister, DynamoDncRegister>;

/// The register API's start-up: configuration, and the client it reads the register with.
pub async fn start_api() -> Result<LiveApi, StartupError> {
    let config = crate::config::ApiConfig::from_env()?;
    let sdk = sdk_config().await;
    Ok(build_api(&config, &sdk))
}

pub fn build_api(config: &crate::config::ApiConfig, sdk: &SdkConfig) -> LiveApi {
    let register =
        DynamoDncRegister::new(aws_sdk_dynamodb::Client::new(sdk), &config.dnc_table_name);
    crate::entrypoints::api::ApiHandler::new(
        register.clone(),
        register,
        crate::usecases::ask::DEADLINE,
    )
}
