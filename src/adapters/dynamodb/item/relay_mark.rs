//! The lead table's index of writes whose messages wait for the relay (`byRelayPending`):
//! a write that decides messages or DNC signals (or carries those of an earlier write not
//! yet confirmed) puts its item in it; the relay takes it out once it relayed that version
//! ([`confirmation`]). The sweep queries it for items left there longer than a stream
//! record takes, so no signal waits on the stream alone.

/// The index: partition key [`RELAY_PENDING`] (present only while a write waits: one of
/// [`RELAY_SHARDS`] values, [`relay_key`]), sort key [`RELAY_PENDING_SINCE`] (when the
/// oldest message waiting was decided, RFC 3339), keys only.
pub const RELAY_INDEX: &str = "byRelayPending";
pub const RELAY_PENDING: &str = "relayPending";
pub const RELAY_PENDING_SINCE: &str = "relayPendingSince";
/// How many index key values the waiting items spread over: a wave of opt-outs writes to
/// as many index partitions, not one.
pub const RELAY_SHARDS: u32 = 8;
const RELAY_KEY_PREFIX: &str = "relay#";

/// The index key value of an item under this phone: `relay#0` to `relay#7`, fixed per
/// phone.
pub fn relay_key(phone: &str) -> String {
    let hash = phone
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{RELAY_KEY_PREFIX}{}", hash % RELAY_SHARDS)
}

/// Every index key value the sweep queries.
pub fn relay_keys() -> impl Iterator<Item = String> {
    (0..RELAY_SHARDS).map(|shard| format!("{RELAY_KEY_PREFIX}{shard}"))
}

/// What the relay's confirmation of `version` removes: the mark, and what the write
/// decided (it was relayed; the stream record of the write keeps it for audits).
pub const CONFIRMED_REMOVES: [&str; 5] = [
    RELAY_PENDING,
    RELAY_PENDING_SINCE,
    "outbox",
    "dncSignals",
    "outboxVersion",
];

/// The relay's confirmation as an UpdateItem expression: `(update, condition)`, with the
/// names `#version`, `#pending` and the values `:version`, `:next`. Conditioned on the
/// version relayed, so a later write (which carries what is not confirmed) keeps its mark;
/// the version moves on, so a webhook instance that cached the lead reads it again rather
/// than carry what is sent already.
pub fn confirmation() -> (String, &'static str) {
    let removes = CONFIRMED_REMOVES.join(", ");
    (
        format!("SET #version = :next REMOVE {removes}"),
        "#version = :version AND attribute_exists(#pending)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn waiting_items_spread_over_every_index_key_and_a_phone_keeps_its_key() {
        let keys: BTreeSet<String> = (0..200)
            .map(|i| relay_key(&format!("+1202555{i:04}")))
            .collect();
        let all: BTreeSet<String> = relay_keys().collect();
        assert_eq!(keys, all);
        assert_eq!(relay_key("+12025550100"), relay_key("+12025550100"));
    }

    #[test]
    fn the_confirmation_removes_the_mark_and_what_was_relayed_only_at_its_version() {
        let (update, condition) = confirmation();
        assert_eq!(
            update,
            "SET #version = :next REMOVE relayPending, relayPendingSince, outbox, dncSignals, \
             outboxVersion"
        );
        assert!(condition.contains("#version = :version"));
    }
}
