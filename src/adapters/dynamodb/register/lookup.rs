//! The register asked about many phones at once, for `call-events-dnc scrub`: one
//! `BatchGetItem` of up to 100 keys, consistent, and the keys DynamoDB leaves unprocessed
//! asked again after a pause that doubles, until every key is answered.

use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::*;
use crate::ports::{Listed, RegisterLookup};

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

impl RegisterLookup for DynamoDncRegister {
    async fn listed(&self, phones: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        let mut keys: Vec<HashMap<String, AttributeValue>> = phones
            .iter()
            .map(|p| p.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|phone| {
                HashMap::from([(REGISTER_KEY.to_owned(), AttributeValue::S(phone.into()))])
            })
            .collect();
        let mut listed = HashMap::new();
        let mut round = 0;
        while !keys.is_empty() {
            let asked = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("#phone, #dncAt, #reason")
                .expression_attribute_names("#phone", REGISTER_KEY)
                .expression_attribute_names("#dncAt", "dncAt")
                .expression_attribute_names("#reason", "reason")
                .build()
                .map_err(|e| BackendError::new("DynamoDB BatchGetItem (the register)", e))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, asked)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB BatchGetItem (the register)",
                        "the register refuses the lookup",
                        e,
                    )
                })?;
            let mut responses = output.responses.unwrap_or_default();
            for item in responses.remove(&self.table).unwrap_or_default() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                if let Some(phone) = text(REGISTER_KEY) {
                    let listing = Listed {
                        dnc_at: text("dncAt").unwrap_or_default(),
                        kind: text("reason").unwrap_or_default(),
                    };
                    listed.insert(phone, listing);
                }
            }
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
                        "DynamoDB BatchGetItem (the register)",
                        format!(
                            "{} keys still unprocessed after {UNPROCESSED_ROUNDS} rounds",
                            keys.len()
                        ),
                    ));
                }
                tokio::time::sleep(pause(round)).await;
            }
        }
        Ok(listed)
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
