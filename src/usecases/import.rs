//! `call-events-dnc import`'s use case (docs/contract.md §8): a chunk of a list's lines,
//! each an imported signal ([`crate::core::import`]), taken into the register. First the
//! chunk's phones are asked which signals their entries know (consistent `BatchGetItem`s
//! of 100 projecting only the ids, several at a time: [`in_batches`]): a phone not
//! on the register needs no more reading, and a phone whose lines are all known needs
//! nothing at all (a list imported again is those small reads only). Only the entries a
//! line will change are read whole, in batches too. Then the lines of one phone are folded
//! into its entry in the file's order and written at once, with the register's versioned
//! write (a conflict reads the entry again and decides again), [`WRITES_AT_ONCE`] phones at
//! a time. A dry run reads and decides, and writes nothing.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt};

use crate::core::domain::Timestamp;
use crate::core::import::{Taken, take};
use crate::core::register::{DncSignalRecord, RegisterEntry};
use crate::ports::{BackendError, DncRegisterStore, RegisterLookup, RegisterSaveError};
use crate::usecases::scrub::in_batches;

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
    let known = in_batches(&phones, |batch| register.known_signals(batch)).await?;
    // What the known ids settle: a phone off the register is written without more reading;
    // one whose every line its entry knows is already there. The others are read whole.
    let mut verdicts: Vec<(u64, Taken)> = Vec::new();
    let mut to_write = Vec::new();
    let mut to_read = Vec::new();
    for (phone, lines) in by_phone {
        match known.get(&phone) {
            None => to_write.push((lines, None)),
            Some(ids) if lines.iter().all(|(_, s)| ids.iter().any(|id| id == s.id())) => {
                verdicts.extend(lines.iter().map(|(line, _)| (*line, Taken::AlreadyThere)));
            }
            Some(_) => to_read.push(lines),
        }
    }
    let read: Vec<_> = to_read
        .iter()
        .filter_map(|lines| Some(lines.first()?.1.phone().clone()))
        .collect();
    let mut held = in_batches(&read, |batch| register.entries(batch)).await?;
    for lines in to_read {
        let entry = lines
            .first()
            .and_then(|(_, s)| held.remove(s.phone().as_str()));
        to_write.push((lines, entry));
    }
    let written = futures_util::stream::iter(to_write)
        .map(|(lines, entry)| one_phone(register, lines, entry, now, asked))
        .buffer_unordered(WRITES_AT_ONCE)
        .try_fold(Vec::new(), |mut all, taken| async move {
            all.extend(taken);
            Ok(all)
        })
        .await?;
    verdicts.extend(written);
    Ok(verdicts)
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
