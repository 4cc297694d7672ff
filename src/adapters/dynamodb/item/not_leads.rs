//! The items of the lead table that are not leads: a quarantined body, a DNC signal kept
//! without a lead, and what the relay parked.

use super::*;

/// A quarantine record as an item of the lead table. The key is a digest of the record
/// (its exact bytes: a body kept in base64 has only a preview in `body`, and two bodies
/// alike in their first 8 KiB are still two records), under a prefix no phone has;
/// DynamoDB's time to live removes it once the quarantine queue would have dropped it too.
pub fn quarantine_item(
    record: &QuarantineRecord,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let received_at = Timestamp::parse(&record.received_at)
        .map(|t| t.to_unix_parts().0)
        .unwrap_or_default();
    let phone = format!(
        "{QUARANTINE_PREFIX}{}",
        short_digest(&[
            &record.received_at,
            &record.reason,
            &record.body,
            record.body_base64.as_deref().unwrap_or_default(),
        ])
    );
    serde_dynamo::to_item(TableItem {
        // Like every write that decides something, it waits in the relay's index until
        // the relay forwarded it: a stream record lost does not lose the forward.
        relay_pending: Some(relay_key(&phone)),
        relay_pending_since: Some(Timestamp::now().to_rfc3339()),
        phone,
        campaign_id: "quarantine".to_owned(),
        quarantine: Some(record.clone()),
        expires_at: Some(received_at + QUARANTINE_KEPT_SECONDS),
        ..TableItem::default()
    })
}

/// The sort-key prefix of a DNC signal kept without a lead (no campaign can take `#`).
pub const SIGNAL_SORT_KEY_PREFIX: &str = "#dnc-signal#";

/// A DNC signal kept without a lead, as an item of the lead table: under its phone, so
/// that it shares the stream shard of the phone's leads; keyed by its event id, so that a
/// redelivery finds it there.
pub fn signal_item(
    record: &DncSignalRecord,
    now: Timestamp,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    let (phone, campaign_id) = signal_key(record);
    serde_dynamo::to_item(TableItem {
        phone,
        campaign_id,
        version: Some(1),
        dnc_signals: BTreeMap::from([(record.id().to_owned(), record.clone())]),
        outbox_version: Some(1),
        relay_pending: Some(relay_key(record.phone().as_str())),
        relay_pending_since: Some(now.to_rfc3339()),
        expires_at: Some(now.to_unix_parts().0 + QUARANTINE_KEPT_SECONDS),
        ..TableItem::default()
    })
}

/// The key (`phone`, `campaignId`) of a signal kept without a lead.
pub fn signal_key(record: &DncSignalRecord) -> (String, String) {
    (
        record.phone().as_str().to_owned(),
        format!("{SIGNAL_SORT_KEY_PREFIX}{}", record.id()),
    )
}

/// The partition key of what the relay parked in the table (no phone starts with `#`).
pub const PARKED_PARTITION: &str = "#relay";

/// What the relay could not send anywhere else, as an item of the lead table: all under
/// one partition, [`PARKED_PARTITION`], sorted by kind and time, so one Query lists them
/// (docs/operating.md). No expiry: a person removes an item once it is handled. The
/// relay's stream filter, and the relay itself, pass over these items (they decide nothing).
pub fn parked_item(
    parked: &Parked,
) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
    serde_dynamo::to_item(TableItem {
        phone: PARKED_PARTITION.to_owned(),
        campaign_id: format!(
            "{}#{}#{}",
            parked.kind,
            parked.at,
            short_digest(&[&parked.reason, &parked.body])
        ),
        kind: Some(parked.kind.to_owned()),
        parked_at: Some(parked.at.clone()),
        reason: Some(parked.reason.clone()),
        body: Some(parked.body.clone()),
        ..TableItem::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(record: &QuarantineRecord) -> String {
        let item = quarantine_item(record).unwrap();
        item[PARTITION_KEY].as_s().unwrap().clone()
    }

    #[test]
    fn bodies_alike_in_their_preview_are_kept_under_two_keys() {
        let at = "2024-01-28T12:00:00.000Z";
        let mut one = vec![0xffu8; 9 * 1024];
        let mut two = one.clone();
        one.push(1);
        two.push(2);
        let (one, two) = (
            QuarantineRecord::new(at, "not UTF-8", &one),
            QuarantineRecord::new(at, "not UTF-8", &two),
        );
        assert_eq!(one.body, two.body, "the same preview");
        assert_ne!(key(&one), key(&two));
        assert_eq!(key(&one), key(&one.clone()), "a record keeps its key");
    }
}
