//! The lead table's index of items whose outbox waits for the relay (`byRelayPending`): a
//! write that decides messages or DNC signals puts its item in it; the relay takes it out
//! once it confirmed every entry (`super::outbox`). The sweep queries it for items left
//! there longer than a stream record takes, so no signal waits on the stream alone.

/// The index: partition key [`RELAY_PENDING`] (present only while a write waits: one of
/// [`RELAY_SHARDS`] values, [`relay_key`]), sort key [`RELAY_PENDING_SINCE`] (when the
/// oldest entry waiting was decided, RFC 3339), keys only.
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
    format!("{RELAY_KEY_PREFIX}{}", shard_of(phone, RELAY_SHARDS))
}

/// The shard of a sparse index a phone's items go under, of `shards`: fixed per phone,
/// spread evenly (the relay's index and the register's pending index share it).
pub fn shard_of(phone: &str, shards: u32) -> u32 {
    let hash = phone
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    hash % shards
}

/// Every index key value the sweep queries.
pub fn relay_keys() -> impl Iterator<Item = String> {
    (0..RELAY_SHARDS).map(|shard| format!("{RELAY_KEY_PREFIX}{shard}"))
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
}
