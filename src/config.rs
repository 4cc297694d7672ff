//! Configuration from the environment (docs/contract.md §6). A missing or invalid variable
//! stops the function at start with one line naming it; without a secret nothing is
//! accepted. Each function reads only what it uses: the webhook its table and secret; the
//! relay the table, the register and the URLs of the queues it sends to.

use crate::adapters::QueueUrls;
use crate::core::signature::{DEFAULT_TOLERANCE_SECONDS, Secret};

/// Every variable the webhook reads.
pub const VARIABLES: [&str; 5] = [
    "TABLE_NAME",
    "WEBHOOK_SECRET_ARN",
    "WEBHOOK_SECRET",
    "SIGNATURE_TOLERANCE_SECONDS",
    "ACCEPT_LEGACY_V1_SIGNATURES",
];

/// Every variable the relay reads (its stream, schedule and redrive triggers alike).
pub const RELAY_VARIABLES: [&str; 5] = [
    "TABLE_NAME",
    "DNC_TABLE_NAME",
    "CALLBACK_QUEUE_URL",
    "DNC_QUEUE_URL",
    "QUARANTINE_QUEUE_URL",
];

/// The webhook's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub secrets: SecretSource,
    pub tolerance_seconds: u64,
    /// Legacy webhooks sign `v1` (no timestamp under the HMAC). Default true: they are
    /// live.
    pub accept_v1: bool,
}

/// The replay command's configuration: the webhook's variables (its table, and the
/// secrets that each record's kept signature is verified with) and the quarantine queue.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub webhook: Config,
    pub quarantine_queue_url: String,
}

impl ReplayConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let webhook = Config::from_env()?;
        let quarantine_queue_url = std::env::var("QUARANTINE_QUEUE_URL")
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError::Missing("QUARANTINE_QUEUE_URL"))?;
        Ok(Self {
            webhook,
            quarantine_queue_url,
        })
    }
}

/// The relay's configuration.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The lead table: where the relay parks what no queue takes.
    pub table_name: String,
    /// The DNC register.
    pub dnc_table_name: String,
    pub queues: QueueUrls,
}

impl RelayConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let queue_url = |name: &'static str| {
            let url = lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))?;
            if url.starts_with("https://") || url.starts_with("http://") {
                Ok(url)
            } else {
                Err(ConfigError::Invalid {
                    name,
                    why: "must be an SQS queue URL (https://...)".into(),
                })
            }
        };
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            dnc_table_name: required("DNC_TABLE_NAME")?,
            queues: QueueUrls {
                callback: queue_url("CALLBACK_QUEUE_URL")?,
                dnc: queue_url("DNC_QUEUE_URL")?,
                quarantine: queue_url("QUARANTINE_QUEUE_URL")?,
            },
        })
    }
}

/// Where the webhook client secret(s) come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `WEBHOOK_SECRET`: for local runs and tests.
    Inline(Vec<Secret>),
    /// `WEBHOOK_SECRET_ARN`: read at cold start, and again when a signature matches none of
    /// the secrets held (`usecases::keyring`).
    SecretsManager { arn: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error(
        "no webhook secret: set WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET for local runs); without one no request can be accepted"
    )]
    NoSecret,
    #[error("set only one of WEBHOOK_SECRET_ARN and WEBHOOK_SECRET")]
    TwoSecretSources,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let table_name = required("TABLE_NAME")?;
        let secrets = SecretSource::from_lookup(&lookup)?;
        let tolerance_seconds = match lookup("SIGNATURE_TOLERANCE_SECONDS") {
            None => DEFAULT_TOLERANCE_SECONDS,
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SIGNATURE_TOLERANCE_SECONDS",
                why: "must be a whole number of seconds".into(),
            })?,
        };
        Ok(Self {
            table_name,
            secrets,
            tolerance_seconds,
            accept_v1: accept_v1(&lookup)?,
        })
    }
}

impl SecretSource {
    /// `WEBHOOK_SECRET_ARN` or `WEBHOOK_SECRET`: exactly one of them.
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        match (set("WEBHOOK_SECRET_ARN"), set("WEBHOOK_SECRET")) {
            (Some(_), Some(_)) => Err(ConfigError::TwoSecretSources),
            (Some(arn), None) => Ok(Self::SecretsManager {
                arn: arn.trim().to_owned(),
            }),
            (None, Some(list)) => Ok(Self::Inline(parse_secrets("WEBHOOK_SECRET", &list)?)),
            (None, None) => Err(ConfigError::NoSecret),
        }
    }
}

/// `ACCEPT_LEGACY_V1_SIGNATURES`: `true` (the default) or `false`.
fn accept_v1(lookup: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match lookup("ACCEPT_LEGACY_V1_SIGNATURES")
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            name: "ACCEPT_LEGACY_V1_SIGNATURES",
            why: "must be true or false".into(),
        }),
    }
}

/// `call-events-dnc prove` and `export`: the register, the lead table (`prove` lists the
/// phone's leads), and the webhook's secrets, which the kept evidence is checked with.
#[derive(Debug, Clone)]
pub struct ProveConfig {
    pub dnc_table_name: String,
    /// `TABLE_NAME`; `export` does without it.
    pub table_name: Option<String>,
    pub secrets: SecretSource,
    pub accept_v1: bool,
}

impl ProveConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Ok(Self {
            dnc_table_name: set("DNC_TABLE_NAME").ok_or(ConfigError::Missing("DNC_TABLE_NAME"))?,
            table_name: set("TABLE_NAME"),
            secrets: SecretSource::from_lookup(&lookup)?,
            accept_v1: accept_v1(&lookup)?,
        })
    }
}

/// The register API's function (docs/contract.md §9): the register it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub dnc_table_name: String,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = lookup("DNC_TABLE_NAME")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Ok(Self {
            dnc_table_name: table.ok_or(ConfigError::Missing("DNC_TABLE_NAME"))?,
        })
    }
}

/// Secrets from a comma- or newline-separated list; at least one, each 16 characters or
/// more.
pub fn parse_secrets(name: &'static str, list: &str) -> Result<Vec<Secret>, ConfigError> {
    let secrets = Secret::parse_list(list).map_err(|e| ConfigError::Invalid {
        name,
        why: e.to_string(),
    })?;
    if secrets.is_empty() {
        return Err(ConfigError::Invalid {
            name,
            why: "holds no secret".into(),
        });
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const BASE: [(&str, &str); 1] = [("TABLE_NAME", "leads")];

    const QUEUES: [(&str, &str); 5] = [
        ("TABLE_NAME", "leads"),
        ("DNC_TABLE_NAME", "dnc-register"),
        (
            "CALLBACK_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/cb.fifo",
        ),
        (
            "DNC_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/dnc.fifo",
        ),
        (
            "QUARANTINE_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/1/q",
        ),
    ];

    fn relay_env(pairs: &[(&str, &str)]) -> Result<RelayConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RelayConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn relay_reads_the_register_and_its_three_queues_and_names_a_missing_or_invalid_one() {
        let config = relay_env(&QUEUES).unwrap();
        assert!(config.queues.callback.ends_with("cb.fifo"));
        assert!(config.queues.quarantine.ends_with("/q"));
        for (i, (name, _)) in QUEUES.iter().enumerate() {
            let mut pairs = QUEUES.to_vec();
            pairs.remove(i);
            let err = relay_env(&pairs).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
            if name.ends_with("_URL") {
                let mut pairs = QUEUES.to_vec();
                pairs[i].1 = "callbacks.fifo";
                let err = relay_env(&pairs).unwrap_err();
                assert!(err.to_string().starts_with(name), "{err}");
            }
        }
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut pairs = BASE.to_vec();
        pairs.extend_from_slice(extra);
        env(&pairs)
    }

    #[test]
    fn complete_configuration_is_read() {
        let config =
            with(&[("WEBHOOK_SECRET", "first_secret_000000, second_secret_00000")]).unwrap();
        assert_eq!(config.table_name, "leads");
        assert_eq!(config.tolerance_seconds, 300);
        assert!(matches!(config.secrets, SecretSource::Inline(s) if s.len() == 2));
        let config = with(&[
            (
                "WEBHOOK_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:x",
            ),
            ("SIGNATURE_TOLERANCE_SECONDS", "60"),
        ])
        .unwrap();
        assert!(matches!(
            config.secrets,
            SecretSource::SecretsManager { .. }
        ));
        assert_eq!(config.tolerance_seconds, 60);
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for (i, (name, _)) in BASE.iter().enumerate() {
            let mut pairs: Vec<_> = BASE.to_vec();
            pairs.remove(i);
            pairs.push(("WEBHOOK_SECRET", "first_secret_000000"));
            let err = env(&pairs).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn no_secret_configured_fails_closed() {
        assert_eq!(with(&[]).unwrap_err(), ConfigError::NoSecret);
        assert_eq!(
            with(&[("WEBHOOK_SECRET", " ")]).unwrap_err(),
            ConfigError::NoSecret
        );
    }

    #[test]
    fn invalid_values_are_named() {
        let short = with(&[("WEBHOOK_SECRET", "short")]).unwrap_err();
        assert!(
            short.to_string().starts_with("WEBHOOK_SECRET is invalid"),
            "{short}"
        );
        assert!(!short.to_string().contains("short"), "{short}");
        let tolerance = with(&[
            ("WEBHOOK_SECRET", "first_secret_000000"),
            ("SIGNATURE_TOLERANCE_SECONDS", "5m"),
        ])
        .unwrap_err();
        assert!(
            tolerance
                .to_string()
                .starts_with("SIGNATURE_TOLERANCE_SECONDS"),
            "{tolerance}"
        );
    }

    #[test]
    fn only_the_listed_variables_are_read() {
        let asked = std::cell::RefCell::new(Vec::new());
        let _ = RelayConfig::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            Some("https://sqs.example/q".to_owned())
        });
        for name in asked.take() {
            assert!(
                RELAY_VARIABLES.contains(&name.as_str()),
                "{name} is read by the relay but not listed"
            );
        }
        let _ = Config::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            Some(match name {
                "SIGNATURE_TOLERANCE_SECONDS" => "300".to_owned(),
                "WEBHOOK_SECRET" => String::new(),
                n if n.ends_with("_URL") => "https://sqs.example/q".to_owned(),
                _ => "value_long_enough_000".to_owned(),
            })
        });
        for name in asked.into_inner() {
            assert!(
                VARIABLES.contains(&name.as_str()),
                "{name} is read but not listed"
            );
        }
    }

    #[test]
    fn legacy_v1_signatures_are_accepted_unless_switched_off() {
        let secret = ("WEBHOOK_SECRET", "first_secret_000000");
        assert!(with(&[secret]).unwrap().accept_v1);
        let off = with(&[secret, ("ACCEPT_LEGACY_V1_SIGNATURES", "false")]).unwrap();
        assert!(!off.accept_v1);
        let bad = with(&[secret, ("ACCEPT_LEGACY_V1_SIGNATURES", "no")]).unwrap_err();
        assert!(bad.to_string().starts_with("ACCEPT_LEGACY_V1_SIGNATURES"));
    }

    #[test]
    fn two_secret_sources_are_refused() {
        let err = with(&[
            ("WEBHOOK_SECRET", "first_secret_000000"),
            ("WEBHOOK_SECRET_ARN", "arn:x"),
        ])
        .unwrap_err();
        assert_eq!(err, ConfigError::TwoSecretSources);
    }
}
