//! What the operator's commands share: their AWS configuration, and how they fail.

use std::process::ExitCode;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use call_events::app::{evidence_verifier, sdk_config};
use call_events::config::ProveConfig;
use call_events::core::signature::Verifier;

/// Exit status 3, with one line.
pub fn could_not(command: &str, why: impl std::fmt::Display) -> ExitCode {
    eprintln!("call-events-dnc {command}: {why}");
    ExitCode::from(3)
}

/// The register (`DNC_TABLE_NAME`) a command reads or writes, `what` saying what for.
pub fn register_table(what: &str) -> Result<String, String> {
    std::env::var("DNC_TABLE_NAME")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("DNC_TABLE_NAME is not set (the register {what})"))
}

/// The SDK's configuration for an operator's command: more patience than the functions
/// have (adaptive retries back off when throttled), unless AWS_MAX_ATTEMPTS says otherwise.
pub async fn operator_sdk() -> aws_config::SdkConfig {
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(8);
    sdk_config()
        .await
        .into_builder()
        .retry_config(RetryConfig::adaptive().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build()
}

/// The configuration and the verifier `prove` and `export` share.
pub async fn prover(
    command: &str,
) -> Result<(ProveConfig, aws_config::SdkConfig, Verifier), ExitCode> {
    let config = ProveConfig::from_env().map_err(|e| could_not(command, e))?;
    let sdk = operator_sdk().await;
    let verifier = evidence_verifier(&config, &sdk)
        .await
        .map_err(|e| could_not(command, e))?;
    Ok((config, sdk, verifier))
}
