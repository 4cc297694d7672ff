//! The register asked about many phones at once, for `call-events-dnc scrub` and `import`:
//! one `BatchGetItem` of up to 100 keys, consistent, and the keys DynamoDB leaves
//! unprocessed asked again after a pause that doubles, until every key is answered.

use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::*;
use crate::ports::{Listed, RegisterLookup};

/// The attributes that hold an entry's known signal ids (codec.rs).
const RECENT_IDS: &str = "recentSignalIds";
const FIRST_RELEASE_IDS: &str = "signalIds";

/// Rounds of `UnprocessedKeys` before the lookup gives up (with back-off: about a minute).
const UNPROCESSED_ROUNDS: u32 = 12;
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The pause before round `round` (1, 2, ...) of unprocessed keys: doubling, with full
/// jitter, at most [`LONGEST_PAUSE`].
fn pause(round: u32) -> Duration {
    let ceiling = FIRST_PAUSE
        .saturating_mul(1 << round.min(16))
        .min(LONGEST_PAUSE);
    ceiling.mul_f64(fastrand::f64())
}

impl DynamoDncRegister {
    /// The items of `phones` (at most 100) on the register, consistent; only the
    /// attributes `projection` names (`a.b`: `b` of map `a`), or whole items without one.
    async fn batch_items(
        &self,
        phones: &[Phone],
        projection: Option<&[&str]>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, BackendError> {
        const OPERATION: &str = "DynamoDB BatchGetItem (the register)";
        let mut keys: Vec<HashMap<String, AttributeValue>> = phones
            .iter()
            .map(|p| p.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|phone| {
                HashMap::from([(REGISTER_KEY.to_owned(), AttributeValue::S(phone.into()))])
            })
            .collect();
        let mut found = Vec::with_capacity(keys.len());
        let mut round = 0;
        while !keys.is_empty() {
            let mut asked = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true);
            if let Some(paths) = projection {
                let mut names = HashMap::new();
                let expression: Vec<String> = paths
                    .iter()
                    .map(|path| {
                        let parts: Vec<String> = path
                            .split('.')
                            .map(|name| {
                                let next = format!("#a{}", names.len());
                                names.entry(name.to_owned()).or_insert(next).clone()
                            })
                            .collect();
                        parts.join(".")
                    })
                    .collect();
                asked = asked.projection_expression(expression.join(", "));
                for (name, placeholder) in names {
                    asked = asked.expression_attribute_names(placeholder, name);
                }
            }
            let asked = asked.build().map_err(|e| BackendError::new(OPERATION, e))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, asked)
                .send()
                .await
                .map_err(|e| classify(OPERATION, "the register refuses the lookup", e))?;
            let mut responses = output.responses.unwrap_or_default();
            found.extend(responses.remove(&self.table).unwrap_or_default());
            keys = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|left| left.keys)
                .unwrap_or_default();
            if !keys.is_empty() {
                round += 1;
                if round > UNPROCESSED_ROUNDS {
                    return Err(BackendError::new(
                        OPERATION,
                        format!(
                            "{} keys still unprocessed after {UNPROCESSED_ROUNDS} rounds",
                            keys.len()
                        ),
                    ));
                }
                tokio::time::sleep(pause(round)).await;
            }
        }
        Ok(found)
    }
}

/// The attributes [`listed`] reads.
pub const LISTED_ATTRIBUTES: [&str; 7] = [
    REGISTER_KEY,
    "dncAt",
    "reason",
    "evidence.kind",
    "evidence.channel",
    "signedSignal.reason",
    "requestState",
];

/// What a register item (whole, or projected on [`LISTED_ATTRIBUTES`]) says of its phone.
pub fn listed(item: &HashMap<String, AttributeValue>) -> Option<(String, Listed)> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let evidence = |name: &str| {
        let evidence = item.get("evidence")?.as_m().ok()?;
        evidence.get(name)?.as_s().ok().cloned()
    };
    let listing = Listed {
        dnc_at: text("dncAt").unwrap_or_default(),
        reason: text("reason").unwrap_or_default(),
        kind: evidence("kind").unwrap_or_else(|| "signed".to_owned()),
        channel: evidence("channel").unwrap_or_default(),
        also_signed: item.contains_key("signedSignal"),
        // An entry of the first release has no state: its request is pending (codec.rs).
        request_state: text("requestState").unwrap_or_else(|| "pending".to_owned()),
    };
    Some((text(REGISTER_KEY)?, listing))
}

impl RegisterLookup for DynamoDncRegister {
    async fn listed(&self, phones: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        let items = self.batch_items(phones, Some(&LISTED_ATTRIBUTES)).await?;
        Ok(items.iter().filter_map(listed).collect())
    }

    async fn known_signals(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, Vec<String>>, BackendError> {
        let items = self
            .batch_items(phones, Some(&[REGISTER_KEY, RECENT_IDS, FIRST_RELEASE_IDS]))
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let ids = |name: &str| -> Vec<String> {
                    item.get(name)
                        .and_then(|v| v.as_l().ok())
                        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                        .unwrap_or_default()
                };
                let known = known_ids(ids(RECENT_IDS), ids(FIRST_RELEASE_IDS));
                Some((item.get(REGISTER_KEY)?.as_s().ok()?.clone(), known.into()))
            })
            .collect())
    }

    async fn entries(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, (RegisterEntry, u64)>, BackendError> {
        let items = self.batch_items(phones, None).await?;
        items
            .into_iter()
            .filter_map(|item| {
                let phone = item.get(REGISTER_KEY)?.as_s().ok()?.clone();
                Some(read_entry(item).map(|entry| (phone, entry)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for round in 1..40 {
            assert!(pause(round) <= LONGEST_PAUSE);
        }
    }
}
