//! The register as the relay and the sweep use it ([`DncRegisterStore`]): load, versioned
//! save, the request's state set in place, and the sweep's query of the pending index.

use super::*;
use crate::adapters::dynamodb::attribute::{number, text};
use crate::adapters::dynamodb::sparse::{SparseIndex, items_since};

impl DynamoDncRegister {
    /// Sets the request's state in place (the evidence is not rewritten): `update` with
    /// its `names` and `values`, unless the request was sent already. Needs nothing
    /// of the item but its key, so it works on an entry this code cannot read.
    async fn set_request(
        &self,
        phone: &Phone,
        update: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<(), BackendError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.as_str().to_owned()))
            .update_expression(update)
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#state) OR #state <> :sent)",
            )
            .expression_attribute_names("#pk", REGISTER_KEY)
            .expression_attribute_names("#state", REQUEST_STATE)
            .expression_attribute_values(":sent", AttributeValue::S(SENT.into()));
        for &(placeholder, name) in names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in values {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
        // A condition that did not hold: sent already, or not on the register.
        condition_held(
            request.send().await,
            "DynamoDB UpdateItem (DNC register request)",
            "DynamoDB refuses the register entry",
        )
        .map(|_| ())
    }
}

impl DncRegisterStore for DynamoDncRegister {
    async fn load(&self, phone: &Phone) -> Result<Option<(RegisterEntry, u64)>, BackendError> {
        self.item(phone).await?.map(read_entry).transpose()
    }

    async fn save(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        expected_version: Option<u64>,
    ) -> Result<(), RegisterSaveError> {
        let version = expected_version.map_or(1, |v| v + 1);
        let item = register_item(phone, entry, version).map_err(|e| {
            BackendError::permanent(
                "writing the DNC register item",
                "the register entry cannot be encoded",
                e,
            )
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = versioned(request, REGISTER_KEY, expected_version);
        let written = condition_held(
            request.send().await,
            "DynamoDB PutItem (DNC register)",
            "DynamoDB refuses the register entry",
        )?;
        written.then_some(()).ok_or(RegisterSaveError::Conflict)
    }

    async fn mark_sent(&self, phone: &Phone, at: Timestamp) -> Result<(), BackendError> {
        self.set_request(
            phone,
            "SET #state = :sent, #sentAt = :at, #version = #version + :one \
             REMOVE #pending, #since, #refused, #due",
            &[
                ("#sentAt", REQUEST_SENT_AT),
                ("#version", VERSION),
                ("#pending", PENDING_KEY),
                ("#since", PENDING_SINCE),
                ("#refused", REQUEST_REFUSED),
                ("#due", REQUEST_DUE),
            ],
            &[(":at", text(&at.to_rfc3339())), (":one", number(1))],
        )
        .await
    }

    async fn mark_refused(&self, phone: &Phone, why: &str) -> Result<(), BackendError> {
        let names = [
            ("#refused", REQUEST_REFUSED),
            ("#pending", PENDING_KEY),
            ("#since", PENDING_SINCE),
            ("#due", REQUEST_DUE),
        ];
        let values = [(":refused", text(REFUSED)), (":why", text(why))];
        let versioned = self
            .set_request(
                phone,
                "SET #state = :refused, #refused = :why, \
                 #version = if_not_exists(#version, :zero) + :one REMOVE #pending, #since, #due",
                &[names.as_slice(), &[("#version", VERSION)]].concat(),
                &[
                    values.as_slice(),
                    &[(":zero", number(0)), (":one", number(1))],
                ]
                .concat(),
            )
            .await;
        match versioned {
            // A version this code cannot add to (a damaged entry): out of the sweep's index
            // all the same, which is what matters to the sweep.
            Err(e) if e.is_permanent() => {
                self.set_request(
                    phone,
                    "SET #state = :refused, #refused = :why REMOVE #pending, #since, #due",
                    &names,
                    &values,
                )
                .await
            }
            other => other,
        }
    }

    async fn pending(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        self.pending_under(pending_keys(), before, limit).await
    }

    async fn pending_imported(&self, limit: usize) -> Result<Vec<(Phone, String)>, BackendError> {
        self.pending_under(imported_keys(), Timestamp::now(), limit)
            .await
    }
}

impl DynamoDncRegister {
    /// Up to `limit` pending under these index keys since `before`, the longest first.
    async fn pending_under(
        &self,
        keys: impl Iterator<Item = String>,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        let index = SparseIndex {
            table: &self.table,
            index: PENDING_INDEX,
            shard_key: PENDING_KEY,
            since_key: PENDING_SINCE,
            operation: "DynamoDB Query (pending DNC requests)",
            why: "the pending-request index cannot be read",
        };
        let items = items_since(&self.client, &index, keys, before, limit).await?;
        let pending = items
            .iter()
            .filter_map(|item| {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                Some((text(PENDING_SINCE)?, text(REGISTER_KEY)?))
            })
            .collect();
        Ok(oldest_first(pending, limit))
    }
}

/// Up to `limit` of `(pending since, phone)` pairs as `(phone, since)`, the longest pending
/// first. An index key that is not a phone is passed over (this code cannot write one).
pub fn oldest_first(mut pending: Vec<(String, String)>, limit: usize) -> Vec<(Phone, String)> {
    pending.sort();
    pending
        .into_iter()
        .filter_map(|(since, phone)| Some((Phone::parse(&phone).ok()?, since)))
        .take(limit)
        .collect()
}
