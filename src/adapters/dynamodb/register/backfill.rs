//! The upgrade's one-off backfill: entries of the first release into the pending index.

use super::*;

/// What a backfill of the pending index did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Entries that were pending (or of the first release, with no request state) and out
    /// of the index.
    pub found: usize,
    /// Of those, put in the index now (the others changed meanwhile).
    pub indexed: usize,
}

impl DynamoDncRegister {
    /// Puts every entry whose request is pending but which the sweep cannot see (written by
    /// the first release: no `requestState`, no index key) into the pending index, with a
    /// version bump: pending since `now` (the resend is what is pending: an entry pending
    /// since its signal, years ago, would page the pending alarm at the first sweep), and
    /// saying that the first release sent its request at a time it did not record. Idempotent: a second run finds nothing. One
    /// scan of the register (read only: keys and three attributes), one conditional update
    /// per entry found; `progress` hears each entry as it is handled.
    pub async fn backfill_pending(
        &self,
        now: Timestamp,
        mut progress: impl FnMut(&Backfilled),
    ) -> Result<Backfilled, BackendError> {
        let mut done = Backfilled::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk")
                .filter_expression(UNINDEXED)
                .expression_attribute_names("#pk", REGISTER_KEY)
                .expression_attribute_names("#state", REQUEST_STATE)
                .expression_attribute_names("#pending", PENDING_KEY)
                .expression_attribute_values(":pending", AttributeValue::S(PENDING.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Scan (DNC register)",
                        "the register cannot be read",
                        e,
                    )
                })?;
            for item in page.items.unwrap_or_default() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                let Some(phone) = text(REGISTER_KEY) else {
                    continue;
                };
                done.found += 1;
                if self.index_pending(&phone, now).await? {
                    done.indexed += 1;
                }
                progress(&done);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(done);
            }
        }
    }

    /// One entry into the index, if it is still pending and out of it.
    async fn index_pending(&self, phone: &str, now: Timestamp) -> Result<bool, BackendError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.to_owned()))
            .update_expression(
                "SET #state = :pending, #pending = :key, #since = :since, \
                 #earlier = if_not_exists(#earlier, :earlier), \
                 #version = if_not_exists(#version, :zero) + :one",
            )
            .condition_expression(format!("attribute_exists(#pk) AND ({UNINDEXED})"))
            .expression_attribute_names("#pk", REGISTER_KEY)
            .expression_attribute_names("#state", REQUEST_STATE)
            .expression_attribute_names("#pending", PENDING_KEY)
            .expression_attribute_names("#since", PENDING_SINCE)
            .expression_attribute_names("#earlier", EARLIER_REQUEST)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":pending", AttributeValue::S(PENDING.into()))
            .expression_attribute_values(":key", AttributeValue::S(pending_key(phone)))
            .expression_attribute_values(":since", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(
                ":earlier",
                AttributeValue::S(EARLIER_RELEASE_REQUEST.to_owned()),
            )
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        condition_held(
            written,
            "DynamoDB UpdateItem (DNC register backfill)",
            "DynamoDB refuses the register entry",
        )
    }
}

/// An entry whose request is pending (or of the first release: no request state at all)
/// but which is out of the pending index.
const UNINDEXED: &str =
    "(attribute_not_exists(#state) OR #state = :pending) AND attribute_not_exists(#pending)";
