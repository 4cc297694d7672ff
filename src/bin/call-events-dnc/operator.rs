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
/// have (adaptive retries back off when throttled), unless AWS_MAX_ATTEMPTS says otherwise;
/// and DynamoDB reachable at all ([`reachable`]).
pub async fn operator_sdk() -> Result<aws_config::SdkConfig, String> {
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(8);
    let sdk = sdk_config()
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
        .build();
    reachable(&sdk).await?;
    Ok(sdk)
}

/// How long DynamoDB's endpoint has to take a connection before the command gives up.
const CONNECT_WITHIN: Duration = Duration::from_secs(3);

/// Whether DynamoDB's endpoint takes a TCP connection within [`CONNECT_WITHIN`]: without
/// this, an endpoint that is down (a stopped local stack, a wrong `AWS_ENDPOINT_URL`)
/// costs every retry the SDK is allowed (about 40 s) before one line says so. Not checked
/// behind a proxy (`HTTPS_PROXY` and the like): the proxy makes the connection.
pub async fn reachable(sdk: &aws_config::SdkConfig) -> Result<(), String> {
    let proxied = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if proxied {
        return Ok(());
    }
    let (host, port) = match sdk.endpoint_url() {
        Some(url) => endpoint_address(url)
            .ok_or_else(|| format!("AWS_ENDPOINT_URL {url:?} is not an http(s) URL"))?,
        None => {
            let region = sdk.region().ok_or(
                "no AWS region: set AWS_REGION (or a profile's region) to the stack's region",
            )?;
            (format!("dynamodb.{region}.amazonaws.com"), 443)
        }
    };
    let connecting = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(CONNECT_WITHIN, connecting).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot reach DynamoDB at {host}:{port}: {e}")),
        Err(_) => Err(format!(
            "cannot reach DynamoDB at {host}:{port}: no connection within {} s",
            CONNECT_WITHIN.as_secs()
        )),
    }
}

/// The host and port of an http(s) endpoint URL.
fn endpoint_address(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// The configuration and the verifier `prove` and `export` share.
pub async fn prover(
    command: &str,
) -> Result<(ProveConfig, aws_config::SdkConfig, Verifier), ExitCode> {
    let config = ProveConfig::from_env().map_err(|e| could_not(command, e))?;
    let sdk = operator_sdk().await.map_err(|e| could_not(command, e))?;
    let verifier = evidence_verifier(&config, &sdk)
        .await
        .map_err(|e| could_not(command, e))?;
    Ok((config, sdk, verifier))
}

#[cfg(test)]
mod tests {
    use super::endpoint_address;

    #[test]
    fn an_endpoint_url_names_its_host_and_port() {
        let address = |url: &str| endpoint_address(url);
        assert_eq!(
            address("http://127.0.0.1:4566"),
            Some(("127.0.0.1".into(), 4566))
        );
        assert_eq!(
            address("https://dynamodb.local/"),
            Some(("dynamodb.local".into(), 443))
        );
        assert_eq!(address("http://[::1]:8000/x"), Some(("::1".into(), 8000)));
        assert_eq!(address("http://[::1]"), Some(("::1".into(), 80)));
        assert_eq!(address("localhost:4566"), None);
        assert_eq!(address("ftp://x"), None);
    }
}
