//! The consumer's environment.

/// Every variable the consumer reads.
pub const VARIABLES: [&str; 3] = [
    "IDEMPOTENCY_TABLE_NAME",
    "DNC_TABLE_NAME",
    "IDEMPOTENCY_TTL_SECONDS",
];

/// 14 days: the longest an SQS message lives, so a redriven message is still known.
pub const DEFAULT_TTL_SECONDS: u64 = 14 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Partition key `id`, TTL on `expiration`.
    pub idempotency_table: String,
    /// The receiver's DNC register.
    pub dnc_table: String,
    pub ttl_seconds: u64,
}

impl Settings {
    /// Reads the settings through `lookup` (the process environment in the function).
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let required = |name: &str| match lookup(name) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(format!("{name} is not set")),
        };
        let ttl_seconds = match lookup("IDEMPOTENCY_TTL_SECONDS") {
            None => DEFAULT_TTL_SECONDS,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(seconds) if seconds > 0 => seconds,
                _ => {
                    return Err(format!(
                        "IDEMPOTENCY_TTL_SECONDS must be a positive number of seconds, not {raw:?}"
                    ));
                }
            },
        };
        Ok(Self {
            idempotency_table: required("IDEMPOTENCY_TABLE_NAME")?,
            dnc_table: required("DNC_TABLE_NAME")?,
            ttl_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::read(|name| {
            assert!(VARIABLES.contains(&name), "{name} is not listed");
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn settings_are_read_with_the_default_ttl() {
        let settings = read(&[("IDEMPOTENCY_TABLE_NAME", "i"), ("DNC_TABLE_NAME", "d")]);
        assert_eq!(
            settings,
            Ok(Settings {
                idempotency_table: "i".into(),
                dnc_table: "d".into(),
                ttl_seconds: DEFAULT_TTL_SECONDS
            })
        );
    }

    #[test]
    fn a_missing_or_bad_setting_is_named() {
        assert_eq!(
            read(&[("DNC_TABLE_NAME", "d")]),
            Err("IDEMPOTENCY_TABLE_NAME is not set".into())
        );
        let bad = read(&[
            ("IDEMPOTENCY_TABLE_NAME", "i"),
            ("DNC_TABLE_NAME", "d"),
            ("IDEMPOTENCY_TTL_SECONDS", "soon"),
        ]);
        assert!(bad.unwrap_err().contains("IDEMPOTENCY_TTL_SECONDS"));
    }
}
