//! The import's use case (docs/contract.md §8) on the in-memory register: a phone's lines
//! folded into one write; a writer that moves the entry on in between (the relay) is
//! decided again, never overwritten; a register that keeps refusing ends in an error, not
//! a loop; and, as a property, whatever the order of the imports and the platform's
//! signals and however the list is cut into chunks, each entry keeps its earliest signal,
//! counts each distinct one once, and a second import changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use call_events::adapters::MemoryDncRegister;
use call_events::core::domain::{EventId, Phone, Timestamp};
use call_events::core::import::{ImportRun, Taken, imported_signal};
use call_events::core::lead::{DncSignal, SignalSource};
use call_events::core::register::{
    DncReason, DncSignalRecord, RegisterEntry, Registered, evidence_of_request, register,
};
use call_events::ports::{
    BackendError, DncRegisterStore, Listed, RegisterLookup, RegisterSaveError,
};
use call_events::usecases::import::{Asked, CONFLICT_TRIES, import_lines};
use proptest::prelude::*;

const NOW: &str = "2026-12-06T10:00:00.000Z";
const WRITE: Asked = Asked {
    request: false,
    dry_run: false,
};

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

fn phone(n: usize) -> Phone {
    Phone::parse(&format!("+1202555{n:04}")).unwrap()
}

fn run() -> ImportRun {
    ImportRun {
        source: "crm".into(),
        file_sha256: "ab".repeat(32),
        imported_at: now(),
    }
}

/// `day` days into 2024 (UTC).
fn in_2024(day: u32) -> Timestamp {
    Timestamp::from_unix_parts(1_704_067_200 + i64::from(day) * 86_400, 0).unwrap()
}

/// Line `line` of the list: `phone(n)`, requested `day` days into 2024.
fn line(n: usize, day: u32, line: u64) -> (u64, DncSignalRecord) {
    let at = in_2024(day);
    let signal = imported_signal(&run(), phone(n), Some(at), line, format!("line {line}"));
    (line, signal)
}

/// The platform's key 9 for `phone(n)`, `day` days into 2024.
fn platform(n: usize, day: u32, id: usize) -> DncSignalRecord {
    let at = in_2024(day);
    let signal = DncSignal {
        phone: phone(n),
        campaign_id: None,
        external_lead_id: None,
        reason: DncReason::Keypress9,
        at,
        source: SignalSource {
            event_time: at,
            event_id: EventId::from_stored(format!("evt_{id:032x}")),
        },
    };
    DncSignalRecord::new(&signal, evidence_of_request(Some("t=1,v2=00"), b"{}"))
}

/// The relay's write of a platform signal, as it makes it (load, register, versioned save).
async fn relay_writes(store: &MemoryDncRegister, signal: &DncSignalRecord) {
    loop {
        let loaded = store.load(signal.phone()).await.unwrap();
        let version = loaded.as_ref().map(|(_, v)| *v);
        let entry = match register(loaded.as_ref().map(|(e, _)| e), signal, now()) {
            Registered::Known(_) => return,
            Registered::Changed(entry) => entry,
        };
        match store.save(signal.phone(), &entry, version).await {
            Ok(()) => return,
            Err(RegisterSaveError::Conflict) => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

fn entry(store: &MemoryDncRegister, n: usize) -> RegisterEntry {
    let item = store.item(phone(n).as_str()).expect("on the register");
    call_events::adapters::dynamodb::register::register_entry(item)
        .unwrap()
        .0
}

/// The memory register, with another writer (the relay) that writes the platform's signal
/// just before the import's first `interrupt` saves.
struct Raced {
    store: MemoryDncRegister,
    signal: DncSignalRecord,
    interrupt: usize,
    saves: AtomicUsize,
    /// Entries read whole.
    entries_read: AtomicUsize,
}

impl Raced {
    /// The memory register with another writer that writes the platform's signal of
    /// `phone(1)` before each of the import's first `interrupt` saves (0: never).
    fn new(interrupt: usize) -> Self {
        Self {
            store: MemoryDncRegister::new(),
            signal: platform(1, 100, 1),
            interrupt,
            saves: AtomicUsize::new(0),
            entries_read: AtomicUsize::new(0),
        }
    }
}

impl DncRegisterStore for Raced {
    async fn load(&self, phone: &Phone) -> Result<Option<(RegisterEntry, u64)>, BackendError> {
        self.store.load(phone).await
    }

    async fn save(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        expected_version: Option<u64>,
    ) -> Result<(), RegisterSaveError> {
        if self.saves.fetch_add(1, Ordering::SeqCst) < self.interrupt {
            // A fresh signal id each time, so each is a real change.
            let mut signal = self.signal.clone();
            let n = self.saves.load(Ordering::SeqCst);
            signal.signal.source.event_id = EventId::from_stored(format!("evt_{n:032x}"));
            relay_writes(&self.store, &signal).await;
        }
        self.store.save(phone, entry, expected_version).await
    }

    async fn mark_sent(&self, phone: &Phone, at: Timestamp) -> Result<(), BackendError> {
        self.store.mark_sent(phone, at).await
    }

    async fn mark_refused(&self, phone: &Phone, why: &str) -> Result<(), BackendError> {
        self.store.mark_refused(phone, why).await
    }

    async fn pending(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Phone, String)>, BackendError> {
        self.store.pending(before, limit).await
    }

    async fn pending_imported(&self, limit: usize) -> Result<Vec<(Phone, String)>, BackendError> {
        self.store.pending_imported(limit).await
    }
}

impl RegisterLookup for Raced {
    async fn listed(&self, phones: &[Phone]) -> Result<HashMap<String, Listed>, BackendError> {
        self.store.listed(phones).await
    }

    async fn known_signals(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, Vec<String>>, BackendError> {
        self.store.known_signals(phones).await
    }

    async fn entries(
        &self,
        phones: &[Phone],
    ) -> Result<HashMap<String, (RegisterEntry, u64)>, BackendError> {
        self.entries_read.fetch_add(phones.len(), Ordering::SeqCst);
        self.store.entries(phones).await
    }
}

#[tokio::test]
async fn a_phones_lines_are_one_write_and_each_line_has_its_verdict() {
    let store = MemoryDncRegister::new();
    let lines = vec![
        line(1, 40, 2),
        line(2, 10, 3),
        line(1, 20, 4),
        line(1, 40, 5),
    ];
    let mut taken = import_lines(&store, lines, now(), WRITE).await.unwrap();
    taken.sort();
    assert_eq!(
        taken,
        [
            (2, Taken::Added),
            (3, Taken::Added),
            (4, Taken::NowFirst),
            (5, Taken::AlreadyThere)
        ]
    );
    let one = entry(&store, 1);
    assert_eq!(one.signals, 2);
    assert_eq!(one.first, line(1, 20, 4).1);
    let version = store.load(&phone(1)).await.unwrap().unwrap().1;
    assert_eq!(version, 1, "the phone's three lines were one write");
}

#[tokio::test]
async fn a_writer_in_between_is_decided_again_not_overwritten() {
    let raced = Raced::new(2);
    let taken = import_lines(&raced, vec![line(1, 10, 2)], now(), WRITE)
        .await
        .unwrap();
    assert_eq!(
        taken,
        [(2, Taken::NowFirst)],
        "the relay's signal came first"
    );
    let after = entry(&raced.store, 1);
    assert_eq!(after.signals, 3, "both platform signals and the import");
    assert_eq!(after.first, line(1, 10, 2).1);
    assert!(
        after.signed.is_some(),
        "the platform's signed signal kept beside"
    );
    assert!(
        after.request.is_pending(),
        "the platform's signal owes a request"
    );
}

#[tokio::test]
async fn a_register_that_keeps_moving_ends_in_an_error_not_a_loop() {
    let raced = Raced::new(usize::MAX);
    let error = import_lines(&raced, vec![line(1, 10, 2)], now(), WRITE)
        .await
        .unwrap_err();
    assert!(!error.is_permanent(), "worth running again");
    assert_eq!(raced.saves.load(Ordering::SeqCst), CONFLICT_TRIES);
}

#[tokio::test]
async fn a_list_imported_again_reads_only_the_known_ids_and_writes_nothing() {
    let counted = Raced::new(0);
    let lines = vec![line(1, 10, 2), line(2, 11, 3), line(3, 12, 4)];
    import_lines(&counted, lines.clone(), now(), WRITE)
        .await
        .unwrap();
    assert_eq!(counted.saves.load(Ordering::SeqCst), 3);
    assert_eq!(
        counted.entries_read.load(Ordering::SeqCst),
        0,
        "new phones need no whole read"
    );
    let again = import_lines(&counted, lines, now(), WRITE).await.unwrap();
    assert!(again.iter().all(|(_, t)| *t == Taken::AlreadyThere));
    assert_eq!(counted.saves.load(Ordering::SeqCst), 3, "nothing written");
    assert_eq!(counted.entries_read.load(Ordering::SeqCst), 0);
    // A new line for a known phone reads that one entry whole.
    import_lines(&counted, vec![line(1, 5, 9)], now(), WRITE)
        .await
        .unwrap();
    assert_eq!(counted.entries_read.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_dry_run_decides_and_writes_nothing() {
    let store = MemoryDncRegister::new();
    let asked = Asked {
        request: true,
        dry_run: true,
    };
    let taken = import_lines(&store, vec![line(1, 10, 2)], now(), asked)
        .await
        .unwrap();
    assert_eq!(taken, [(2, Taken::Added)]);
    assert!(store.item(phone(1).as_str()).is_none());
}

/// One step of a history: a chunk of the list imported, or a platform signal relayed.
#[derive(Debug, Clone)]
enum Step {
    Import(Vec<(usize, u32)>),
    Platform(usize, u32, usize),
}

fn history() -> impl Strategy<Value = Vec<Step>> {
    let import = prop::collection::vec((0..4usize, 0..60u32), 1..6).prop_map(Step::Import);
    let platform =
        (0..4usize, 0..60u32, 0..1000usize).prop_map(|(n, d, id)| Step::Platform(n, d, id));
    prop::collection::vec(prop_oneof![import, platform], 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn whatever_the_order_each_entry_keeps_its_earliest_signal_and_a_second_import_changes_nothing(
        steps in history(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store = MemoryDncRegister::new();
            let mut all: BTreeMap<usize, BTreeMap<String, DncSignalRecord>> = BTreeMap::new();
            let mut imported = Vec::new();
            let mut next_line = 2;
            for step in &steps {
                match step {
                    Step::Import(chunk) => {
                        let lines: Vec<_> = chunk
                            .iter()
                            .map(|&(n, day)| {
                                next_line += 1;
                                line(n, day, next_line)
                            })
                            .collect();
                        for (l, signal) in &lines {
                            // The same entry twice: the register keeps the first line's.
                            all.entry(phone_index(signal))
                                .or_default()
                                .entry(signal.id().to_owned())
                                .or_insert_with(|| signal.clone());
                            imported.push((*l, signal.clone()));
                        }
                        import_lines(&store, lines, now(), WRITE).await.unwrap();
                    }
                    Step::Platform(n, day, id) => {
                        let signal = platform(*n, *day, *id);
                        all.entry(*n)
                            .or_default()
                            .entry(signal.id().to_owned())
                            .or_insert_with(|| signal.clone());
                        relay_writes(&store, &signal).await;
                    }
                }
            }
            let before: HashMap<usize, RegisterEntry> =
                all.keys().map(|&n| (n, entry(&store, n))).collect();
            for (n, signals) in &all {
                let earliest = signals
                    .values()
                    .min_by_key(|s| (s.signal.at, s.id().to_owned()))
                    .unwrap();
                let held = &before[n];
                prop_assert_eq!(&held.first, earliest);
                prop_assert_eq!(held.signals, signals.len() as u64);
                let signed = signals
                    .values()
                    .filter(|s| s.is_signed())
                    .min_by_key(|s| (s.signal.at, s.id().to_owned()));
                prop_assert_eq!(held.signed.as_ref(), signed.filter(|_| !earliest.is_signed()));
                prop_assert_eq!(held.request.is_pending(), signals.values().any(|s| s.is_signed()));
            }
            // The whole list again, in one go: nothing changes.
            let again = import_lines(&store, imported, now(), WRITE).await.unwrap();
            prop_assert!(again.iter().all(|(_, t)| *t == Taken::AlreadyThere));
            for (n, held) in &before {
                prop_assert_eq!(&entry(&store, *n), held);
            }
            Ok(())
        })?;
    }
}

fn phone_index(signal: &DncSignalRecord) -> usize {
    signal.phone().as_str()[8..].parse().unwrap()
}
