//! Cold start of each function: configuration, AWS clients (built once, from the
//! environment, so `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_*` work) and,
//! for the webhook, the secret.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::config::{ConfigError, ProveConfig, SecretSource, parse_secrets};
use crate::core::signature::{DEFAULT_TOLERANCE_SECONDS, Secret, Verifier};
use crate::telemetry::error_chain;

/// The functions' own start-up (the webhook, the relay, the replay): not in the operator's
/// CLI built without the `functions` feature.
#[cfg(feature = "functions")]
mod functions;
#[cfg(feature = "functions")]
pub use functions::*;

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
pub(crate) async fn read_secret(sdk: &SdkConfig, arn: &str) -> Result<Vec<Secret>, StartupError> {
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
