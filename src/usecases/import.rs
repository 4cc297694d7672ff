//! `call-events-dnc import`'s use case (docs/contract.md §8): a chunk of a list's lines,
//! each an imported signal ([`crate::core::import`]), taken into the register. The chunk's
//! phones are read at once (consistent `BatchGetItem`s of [`LOOKUP_BATCH`],
//! [`LOOKUPS_AT_ONCE`] at a time); the lines of one phone are folded into its entry in the
//! file's order and written at once, only when they change it, with the register's
//! versioned write (a conflict reads the entry again and decides again), [`WRITES_AT_ONCE`]
//! phones at a time. A list imported again is all reads. A dry run reads and decides, and
//! writes nothing.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt};

use crate::core::domain::Timestamp;
use crate::core::import::{Taken, take};
use crate::core::register::{DncSignalRecord, RegisterEntry};
use crate::ports::{BackendError, DncRegisterStore, RegisterLookup, RegisterSaveError};
use crate::usecases::scrub::{LOOKUP_BATCH, LOOKUPS_AT_ONCE};

/// Phones written at once.
pub const WRITES_AT_ONCE: usize = 32;
/// Versioned writes tried for one phone before the import gives up on it: each conflict is
/// another writer (the relay, the sweep) that moved the entry on in between.
pub const CONFLICT_TRIES: usize = 8;

/// What the import asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    /// A phone new to the register is owed a DNC request.
    pub request: bool,
    /// Decide, write nothing.
    pub dry_run: bool,
}

/// Each line's verdict (by line number), for `lines` (each a line's number and signal).
pub async fn import_lines<R: DncRegisterStore + RegisterLookup>(
    register: &R,
    lines: Vec<(u64, DncSignalRecord)>,
    now: Timestamp,
    asked: Asked,
) -> Result<Vec<(u64, Taken)>, BackendError> {
    let mut by_phone: HashMap<String, Vec<(u64, DncSignalRecord)>> = HashMap::new();
    for (line, signal) in lines {
        by_phone
            .entry(signal.phone().as_str().to_owned())
            .or_default()
            .push((line, signal));
    }
    let phones: Vec<_> = by_phone
        .values()
        .filter_map(|lines| Some(lines.first()?.1.phone().clone()))
        .collect();
    let mut held = futures_util::stream::iter(phones.chunks(LOOKUP_BATCH))
        .map(|batch| register.entries(batch))
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .try_fold(HashMap::new(), |mut all, found| async move {
            all.extend(found);
            Ok(all)
        })
        .await?;
    let phones: Vec<_> = by_phone
        .into_iter()
        .map(|(phone, lines)| {
            let entry = held.remove(&phone);
            (lines, entry)
        })
        .collect();
    futures_util::stream::iter(phones)
        .map(|(lines, entry)| one_phone(register, lines, entry, now, asked))
        .buffer_unordered(WRITES_AT_ONCE)
        .try_fold(Vec::new(), |mut all, taken| async move {
            all.extend(taken);
            Ok(all)
        })
        .await
}

/// One phone's lines folded into its entry (`held`, as the chunk's read found it) and
/// written.
async fn one_phone<R: DncRegisterStore>(
    register: &R,
    lines: Vec<(u64, DncSignalRecord)>,
    mut held: Option<(RegisterEntry, u64)>,
    now: Timestamp,
    asked: Asked,
) -> Result<Vec<(u64, Taken)>, BackendError> {
    let Some((_, first)) = lines.first() else {
        return Ok(Vec::new());
    };
    let phone = first.phone().clone();
    for _ in 0..CONFLICT_TRIES {
        let version = held.as_ref().map(|(_, v)| *v);
        let mut entry = held.map(|(entry, _)| entry);
        let mut verdicts = Vec::with_capacity(lines.len());
        for (line, signal) in &lines {
            let (taken, after) = take(entry.as_ref(), signal, now, asked.request);
            verdicts.push((*line, taken));
            entry = Some(after);
        }
        let changed = verdicts.iter().any(|(_, t)| *t != Taken::AlreadyThere);
        let Some(entry) = entry.filter(|_| changed && !asked.dry_run) else {
            return Ok(verdicts);
        };
        match register.save(&phone, &entry, version).await {
            Ok(()) => return Ok(verdicts),
            Err(RegisterSaveError::Conflict) => held = register.load(&phone).await?,
            Err(RegisterSaveError::Backend(e)) => return Err(e),
        }
    }
    Err(BackendError::new(
        "importing a DNC register entry",
        format!(
            "the entry of {} kept changing: {CONFLICT_TRIES} versioned writes conflicted",
            phone.masked()
        ),
    ))
}
