//! An in-memory lead table, for fast tests of the use cases' edge paths: conditional
//! writes that hand back the current item, and a change stream of new images, as
//! DynamoDB does. Items go through the same codec as on DynamoDB. Clones share the table,
//! so several recorders (webhook instances) can write to one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamodb::attribute::text_of;
use crate::adapters::dynamodb::item::VERSION;
use crate::adapters::dynamodb::item::update::Update;
use crate::adapters::dynamodb::item::{
    MAX_ITEM_BYTES, PARTITION_KEY, RELAY_ENTRY, RELAY_PENDING, RELAY_PENDING_SINCE, SORT_KEY,
    confirmations, item_size, lead_key, lead_update, new_write_id, parked_item, quarantine_item,
    signal_item, signal_key, stamped, stored_lead, version_condition_holds, written_by,
};
use crate::adapters::dynamodb::ledger::{longest_waiting, waiting_item};
use crate::adapters::dynamodb::register::{
    PENDING_KEY, PENDING_SINCE, REFUSED, REQUEST_REFUSED, REQUEST_STATE, SENT, imported_keys,
    known_ids, listed, oldest_first, pending_keys, read_entry, register_item, with_request,
};
use crate::core::decided::{Decided, RelayMark, Unreadable, Waiting};
use crate::core::domain::{Phone, Timestamp};
use crate::core::messages::QuarantineRecord;
use crate::core::register::{DncSignalRecord, RegisterEntry, RequestState};
use crate::ports::{
    BackendError, DncRegisterStore, Inbox, LeadStore, LeadWrite, Listed, Parked, ParkingLot,
    RegisterLookup, RegisterSaveError, RelayLedger, SaveError,
};

type Item = HashMap<String, AttributeValue>;

/// One committed write, as the table's stream shows it.
#[derive(Debug, Clone)]
pub struct StreamEntry {
    pub sequence_number: String,
    pub new_image: serde_dynamo::Item,
}

#[derive(Default)]
struct Table {
    items: HashMap<(String, String), Item>,
    stream: Vec<StreamEntry>,
    writes: usize,
    /// Writes still to fail as if DynamoDB were unavailable.
    failures_to_inject: usize,
    /// Conditional writes still to commit and then lose their answer, which the SDK then
    /// retries: the retry meets the write itself.
    answers_to_lose: usize,
    /// How long each write takes, as a slow backend would.
    latency: Duration,
}

#[derive(Clone, Default)]
pub struct MemoryLeadStore(Arc<Mutex<Table>>);

impl MemoryLeadStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A test that panicked while holding the lock has failed already.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every committed write so far, in order.
    pub fn stream(&self) -> Vec<StreamEntry> {
        self.table().stream.clone()
    }

    /// Write calls made so far, failed ones included.
    pub fn writes(&self) -> usize {
        self.table().writes
    }

    /// The next `n` writes fail as a DynamoDB outage would.
    pub fn fail_next_writes(&self, n: usize) {
        self.table().failures_to_inject = n;
    }

    /// The next `n` conditional writes commit, then their answer is lost (a timeout, a 500
    /// after DynamoDB took them) and they are sent again, as the SDK retries them.
    pub fn lose_next_answers(&self, n: usize) {
        self.table().answers_to_lose = n;
    }

    /// A write's latency, if one was set (a zero sleep would still wait for the timer).
    async fn wait(&self) {
        let latency = self.table().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// Every later write takes `latency` before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.table().latency = latency;
    }

    /// The item stored under the key, as DynamoDB would return it.
    pub fn item(&self, phone: &str, campaign_id: &str) -> Option<Item> {
        self.table()
            .items
            .get(&(phone.to_owned(), campaign_id.to_owned()))
            .cloned()
    }

    /// Every item of the table.
    pub fn items(&self) -> Vec<Item> {
        self.table().items.values().cloned().collect()
    }

    /// Every item under a partition key (the parked items: `#relay`).
    pub fn items_under(&self, phone: &str) -> Vec<Item> {
        let table = self.table();
        let mut items: Vec<_> = table
            .items
            .iter()
            .filter(|((p, _), _)| p == phone)
            .map(|(key, item)| (key.clone(), item.clone()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.into_iter().map(|(_, item)| item).collect()
    }

    /// Puts an item as another writer (or an earlier release) would, with no condition.
    pub fn put_raw(&self, item: Item) {
        let mut table = self.table();
        table.commit(item);
    }
}

/// What DynamoDB answers an item over 400 KB: refused for good.
fn fits(item: &Item) -> Result<(), BackendError> {
    let size = item_size(item);
    match size > MAX_ITEM_BYTES {
        true => Err(BackendError::permanent(
            "memory PutItem",
            "DynamoDB refuses the item (over 400 KB)",
            format!(
                "ValidationException: Item size has exceeded the maximum allowed size ({size} bytes)"
            ),
        )),
        false => Ok(()),
    }
}

impl Table {
    fn commit(&mut self, item: Item) {
        let key = (text(&item, PARTITION_KEY), text(&item, SORT_KEY));
        let sequence_number = format!("{:021}", self.stream.len() + 1);
        self.stream.push(StreamEntry {
            sequence_number,
            new_image: item.clone().into(),
        });
        self.items.insert(key, item);
    }

    /// A conditional put as DynamoDB runs it: `item` (marked with a new write id) goes in
    /// if `holds` says so of the item stored under `key`; else the stored item comes back.
    /// A put whose answer is to be lost runs twice, the second attempt meeting the first.
    fn put_if(
        &mut self,
        key: &(String, String),
        item: Item,
        holds: impl Fn(Option<&Item>) -> bool,
    ) -> Result<Option<Option<Item>>, BackendError> {
        let write_id = new_write_id();
        let item = stamped(item, &write_id);
        fits(&item)?;
        let attempts = self.attempts(true);
        let mut outcome = None;
        for _ in 0..attempts {
            let current = self.items.get(key).cloned();
            outcome = match current {
                _ if holds(current.as_ref()) => {
                    self.commit(item.clone());
                    None
                }
                Some(current) if written_by(&current, &write_id) => None,
                current => Some(current),
            };
        }
        Ok(outcome)
    }

    /// How many times a write runs: twice when its answer is to be lost (the SDK's retry
    /// meets the write itself), which only a write that carries its id can tell.
    fn attempts(&mut self, knows_its_write: bool) -> usize {
        match (self.answers_to_lose, knows_its_write) {
            (0, _) | (_, false) => 1,
            _ => {
                self.answers_to_lose -= 1;
                2
            }
        }
    }

    /// A conditional UpdateItem as DynamoDB runs it (see [`Table::put_if`] for an answer to
    /// lose): `Ok(None)` when it went through (or met its own write, `write_id`), else the
    /// item as it is. A nested path whose map is missing is refused, as DynamoDB does.
    fn update_if(
        &mut self,
        key: &(String, String),
        update: &Update,
        write_id: Option<&str>,
    ) -> Result<Option<Option<Item>>, BackendError> {
        let attempts = self.attempts(write_id.is_some());
        let mut outcome = None;
        for _ in 0..attempts {
            let current = self.items.get(key).cloned();
            outcome = match current {
                _ if update.holds(current.as_ref()) => {
                    let item_key = HashMap::from([
                        (PARTITION_KEY.to_owned(), AttributeValue::S(key.0.clone())),
                        (SORT_KEY.to_owned(), AttributeValue::S(key.1.clone())),
                    ]);
                    // A map the update adds to is not there: refused, with the item as it is,
                    // as the DynamoDB adapter answers it (it reads the item once).
                    let Ok(item) = update.apply(current.clone(), item_key) else {
                        return Ok(Some(current));
                    };
                    fits(&item)?;
                    self.commit(item);
                    None
                }
                Some(current) if write_id.is_some_and(|id| written_by(&current, id)) => None,
                current => Some(current),
            };
        }
        Ok(outcome)
    }

    fn injected_failure(&mut self) -> Result<(), BackendError> {
        self.writes += 1;
        if self.failures_to_inject > 0 {
            self.failures_to_inject -= 1;
            return Err(BackendError::new("memory PutItem", "injected outage"));
        }
        Ok(())
    }
}

fn text(item: &Item, name: &str) -> String {
    text_of(item, name).unwrap_or_default()
}

impl LeadStore for MemoryLeadStore {
    async fn save(&self, write: LeadWrite<'_>) -> Result<u64, SaveError> {
        self.wait().await;
        let mut table = self.table();
        table.injected_failure()?;
        let key = lead_key(&write.state.campaign_id, &write.state.phone);
        let key = (text(&key, PARTITION_KEY), text(&key, SORT_KEY));
        let version = write.expected_version.map_or(1, |v| v + 1);
        let write_id = new_write_id();
        let update = lead_update(&write, version, Timestamp::now(), &write_id)
            .map_err(|e| BackendError::new("writing the lead item", e))?;
        // A write of what changed is right only after the state the item holds: every
        // use-case test holds the webhook to that.
        if let (Some(previous), Some(current)) = (write.previous, table.items.get(&key))
            && update.holds(Some(current))
        {
            let stored = stored_lead(current.clone())?;
            if stored.state != *previous || !stored.current_format {
                return Err(SaveError::Backend(BackendError::new(
                    "memory UpdateItem",
                    "the write sets what changed since a state the item does not hold",
                )));
            }
        }
        match table.update_if(&key, &update, Some(&write_id))? {
            None => Ok(version),
            Some(current) => {
                let current = current.map(stored_lead).transpose()?.map(Box::new);
                Err(SaveError::Conflict { current })
            }
        }
    }
}

impl Inbox for MemoryLeadStore {
    async fn keep_quarantined(&self, record: &QuarantineRecord) -> Result<(), BackendError> {
        self.wait().await;
        let mut table = self.table();
        table.injected_failure()?;
        let item = quarantine_item(record)
            .map_err(|e| BackendError::new("writing the quarantine item", e))?;
        fits(&item)?;
        table.commit(item);
        Ok(())
    }

    async fn keep_signal(&self, record: &DncSignalRecord) -> Result<bool, BackendError> {
        self.wait().await;
        let mut table = self.table();
        table.injected_failure()?;
        let key = signal_key(record);
        let item = signal_item(record, Timestamp::now())
            .map_err(|e| BackendError::new("writing the DNC signal item", e))?;
        let absent = |current: Option<&Item>| current.is_none();
        Ok(table.put_if(&key, item, absent)?.is_none())
    }
}

impl ParkingLot for MemoryLeadStore {
    async fn park(&self, parked: &Parked) -> Result<(), BackendError> {
        let mut table = self.table();
        table.injected_failure()?;
        let item =
            parked_item(parked).map_err(|e| BackendError::new("writing the parked item", e))?;
        fits(&item)?;
        table.commit(item);
        Ok(())
    }
}

/// DynamoDB's conditional UpdateItems of the relay, on the stored item.
impl RelayLedger for MemoryLeadStore {
    async fn confirm(&self, mark: &RelayMark) -> Result<bool, BackendError> {
        self.wait().await;
        let mut table = self.table();
        table.injected_failure()?;
        let key = (mark.phone.clone(), mark.sort_key.clone());
        for update in confirmations(mark, Timestamp::now()) {
            if table.update_if(&key, &update, None)?.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn waiting(&self, before: Timestamp, limit: usize) -> Result<Vec<Waiting>, BackendError> {
        self.wait().await;
        let before = before.to_rfc3339();
        let table = self.table();
        let found = table
            .items
            .iter()
            .filter(|(_, item)| item.contains_key(RELAY_PENDING))
            .filter_map(|((phone, sort_key), item)| {
                let since = item.get(RELAY_PENDING_SINCE)?.as_s().ok()?;
                (*since <= before).then(|| Waiting {
                    phone: phone.clone(),
                    sort_key: sort_key.clone(),
                    since: since.clone(),
                })
            })
            .collect();
        Ok(longest_waiting(found, limit))
    }

    async fn reread(
        &self,
        waiting: &Waiting,
        before: Timestamp,
    ) -> Result<Option<Result<Decided, Unreadable>>, BackendError> {
        self.wait().await;
        let key = (waiting.phone.clone(), waiting.sort_key.clone());
        let item = self.table().items.get(&key).cloned();
        Ok(item.and_then(|item| waiting_item(item, before)))
    }

    async fn set_aside(&self, waiting: &Waiting) -> Result<(), BackendError> {
        self.wait().await;
        let mut table = self.table();
        table.injected_failure()?;
        let key = (waiting.phone.clone(), waiting.sort_key.clone());
        let Some(mut item) = table.items.get(&key).cloned() else {
            return Ok(());
        };
        let since = item.get(RELAY_PENDING_SINCE).and_then(|v| v.as_s().ok());
        if since == Some(&waiting.since) {
            for name in [
                RELAY_PENDING,
                RELAY_PENDING_SINCE,
                RELAY_ENTRY,
                "outboxVersion",
            ] {
                item.remove(name);
            }
            table.commit(item);
        }
        Ok(())
    }
}

/// The DNC register in memory, through the same item codec as on DynamoDB; each call
/// takes the latency set, if any, as DynamoDB's would.
#[derive(Clone, Default)]
pub struct MemoryDncRegister(Arc<Mutex<HashMap<String, Item>>>, Arc<Mutex<Duration>>);

impl MemoryDncRegister {
    pub fn new() -> Self {
        Self::default()
    }

    fn items(&self) -> MutexGuard<'_, HashMap<String, Item>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The register item of a phone, as DynamoDB would return it.
    pub fn item(&self, phone: &str) -> Option<Item> {
        self.items().get(phone).cloned()
    }

    /// Puts an item as another writer would, with no condition (a damaged one, say).
    pub fn put_raw(&self, phone: &str, item: Item) {
        self.items().insert(phone.to_owned(), item);
    }

    /// Every later call takes `latency` before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    async fn wait(&self) {
        let latency = *self.1.lock().unwrap_or_else(|p| p.into_inner());
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
}

impl DncRegisterStore for MemoryDncRegister {
    async fn load(&self, phone: &Phone) -> Result<Option<(RegisterEntry, u64)>, BackendError> {
        self.wait().await;
        self.item(phone.as_str()).map(read_entry).transpose()
    }

    async fn save(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        expected_version: Option<u64>,
    ) -> Result<(), RegisterSaveError> {
        self.wait().await;
        let mut items = self.items();
        if !version_condition_holds(items.get(phone.as_str()), expected_version) {
            return Err(RegisterSaveError::Conflict);
        }
        let version = expected_version.map_or(1, |v| v + 1);
        let item = register_item(phone, entry, version)
            .map_err(|e| BackendError::new("writing the DNC register item", e))?;
        fits(&item)?;
        items.insert(phone.as_str().to_owned(), item);
        Ok(())
    }

    async fn mark_sent(&self, phone: &Phone, at: Timestamp) -> Result<(), BackendError> {
        self.wait().await;
        let state = RequestState::Sent {
            at: at.to_rfc3339(),
        };
        self.set_request(phone, state)
    }

    /// DynamoDB's UpdateItem on the raw item, as the adapter makes it: it needs nothing of
    /// the item but its key, so a damaged entry leaves the index too.
    async fn mark_refused(&self, phone: &Phone, why: &str) -> Result<(), BackendError> {
        self.wait().await;
        let mut items = self.items();
        let Some(item) = items.get_mut(phone.as_str()) else {
            return Ok(());
        };
        if item
            .get(REQUEST_STATE)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some(SENT)
        {
            return Ok(());
        }
        item.insert(REQUEST_STATE.into(), AttributeValue::S(REFUSED.into()));
        item.insert(REQUEST_REFUSED.into(), AttributeValue::S(why.into()));
        item.remove(PENDING_KEY);
        item.remove(PENDING_SINCE);
        let version = match item.get(VERSION) {
            None => Some(0),
            Some(v) => v.as_n().ok().and_then(|n| n.parse::<u64>().ok()),
        };
        if let Some(version) = version {
            item.insert(VERSION.into(), AttributeValue::N((version + 1).to_string()));
        }
        Ok(())
    }

    async fn pending(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        self.pending_under(pending_keys().collect(), before, limit)
            .await
    }

    async fn pending_imported(&self, limit: usize) -> Result<Vec<(Phone, String)>, BackendError> {
        self.pending_under(imported_keys().collect(), Timestamp::now(), limit)
            .await
    }
}

impl MemoryDncRegister {
    /// The index's items under these keys, pending since `before` or earlier, the longest
    /// first, as DynamoDB's query of the sparse index returns them.
    async fn pending_under(
        &self,
        keys: Vec<String>,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        self.wait().await;
        let before = before.to_rfc3339();
        let items = self.items();
        let pending: Vec<(String, String)> = items
            .iter()
            .filter_map(|(phone, item)| {
                let since = item.get(PENDING_SINCE)?.as_s().ok()?;
                let indexed = keys.contains(item.get(PENDING_KEY)?.as_s().ok()?);
                (indexed && *since <= before).then(|| (since.clone(), phone.clone()))
            })
            .collect();
        Ok(oldest_first(pending, limit))
    }
}

/// BatchGetItem as DynamoDB answers it when it has the capacity: every key at once.
impl RegisterLookup for MemoryDncRegister {
    async fn listed(&self, phones: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        self.wait().await;
        let items = self.items();
        Ok(phones
            .iter()
            .filter_map(|phone| listed(items.get(phone.as_str())?))
            .collect())
    }

    /// DynamoDB's projection of the same attributes, read through the same rule.
    async fn known_signals(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, Vec<String>>, BackendError> {
        self.wait().await;
        let items = self.items();
        let ids = |item: &Item, name: &str| -> Vec<String> {
            item.get(name)
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                .unwrap_or_default()
        };
        Ok(phones
            .iter()
            .filter_map(|phone| {
                let item = items.get(phone.as_str())?;
                let known = known_ids(ids(item, "recentSignalIds"), ids(item, "signalIds"));
                Some((phone.as_str().to_owned(), known.into()))
            })
            .collect())
    }

    async fn entries(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, (RegisterEntry, u64)>, BackendError> {
        self.wait().await;
        let items = self.items();
        phones
            .iter()
            .filter_map(|phone| {
                let item = items.get(phone.as_str())?.clone();
                Some(read_entry(item).map(|entry| (phone.as_str().to_owned(), entry)))
            })
            .collect()
    }
}

impl MemoryDncRegister {
    /// The same change as DynamoDB's UpdateItem: the request's state, version + 1.
    fn set_request(&self, phone: &Phone, state: RequestState) -> Result<(), BackendError> {
        let mut items = self.items();
        let Some(item) = items.get(phone.as_str()).cloned() else {
            return Ok(());
        };
        let (entry, version) = read_entry(item)?;
        if let Some(entry) = with_request(&entry, state) {
            let item = register_item(phone, &entry, version + 1)
                .map_err(|e| BackendError::new("writing the DNC register item", e))?;
            items.insert(phone.as_str().to_owned(), item);
        }
        Ok(())
    }
}
