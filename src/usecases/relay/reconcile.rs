//! Writes whose stream record never came (trimmed after an outage longer than 24 hours, a
//! destination that failed), found in the lead table's index of writes the relay has not
//! confirmed and relayed late, each phone's as one batch; and the confirmation of what was
//! relayed (docs/architecture.md, "No signal waits on the stream alone").

use super::*;

/// The sweep leaves a write waiting for the relay for less than this to its stream record:
/// a record normally reaches the relay within a second, and a failing batch is retried by
/// Lambda; the sweep is for a record that never comes.
pub const RECONCILE_GRACE: Duration = Duration::from_secs(180);

/// Waiting writes one sweep relays at most (each a read, its sends and register writes,
/// and a confirmation); more wait for the next sweep.
pub const RECONCILE_LIMIT: usize = 1000;

impl<P: MessagePublisher, R: DncRegisterStore, K: ParkingLot + RelayLedger> Relay<P, R, K> {
    /// Relays every write that waits in the lead table's index since `now - RECONCILE_GRACE`
    /// or earlier (up to [`RECONCILE_LIMIT`] items, the longest waiting first), as records
    /// found late ([`Self::relay_late`]): their DNC signals reach the register and their
    /// requests leave, their callbacks still ahead are sent, those past due are counted;
    /// then they are confirmed. Reads only the index, and each waiting item.
    ///
    /// The batch's rule holds across what it finds: the items are read first, then relayed
    /// by phone ([`SWEEP_CONCURRENCY`] phones at a time), each phone's in one batch, so
    /// every DNC signal of a phone found in the pass (whichever campaign's item holds it)
    /// is on the register before any callback of that phone is sent.
    pub(super) async fn reconcile(
        &self,
        now: Timestamp,
        by: Instant,
        report: &mut SweepReport,
    ) -> Result<(), SweepStop> {
        let before = now.minus(RECONCILE_GRACE);
        let reading = self.lot.waiting(before, RECONCILE_LIMIT);
        let waiting = read_index(by, "the relay's index", reading).await?;
        report.waiting_found = waiting.len();
        let found = self.reread_all(&waiting, before, by).await?;
        let mut by_phone: BTreeMap<&str, Vec<(&Waiting, Change)>> = BTreeMap::new();
        for (waiting, decided) in waiting.iter().zip(found) {
            if let Some(decided) = decided {
                let change = Change {
                    sequence_number: format!("waiting {} {}", waiting.phone, waiting.sort_key),
                    decided,
                };
                by_phone
                    .entry(&waiting.phone)
                    .or_default()
                    .push((waiting, change));
            }
        }
        let phones: Vec<Vec<(&Waiting, Change)>> = by_phone.into_values().collect();
        let what = "phones with writes waiting for the relay";
        each_by(&phones, by, what, &mut report.counts, |writes| async move {
            let mut counts = RelayCounts::default();
            let relaying = self.reconcile_phone(writes, now, by, &mut counts);
            let outcome = tokio::time::timeout_at(by, relaying).await.ok();
            (counts, outcome)
        })
        .await
    }

    /// Reads each waiting item again, [`SWEEP_CONCURRENCY`] at a time, in order.
    pub(super) async fn reread_all(
        &self,
        waiting: &[Waiting],
        before: Timestamp,
        by: Instant,
    ) -> Result<Vec<Option<Result<Decided, Unreadable>>>, SweepStop> {
        let mut reads = futures_util::stream::iter(waiting)
            .map(|found| tokio::time::timeout_at(by, self.lot.reread(found, before)))
            .buffered(SWEEP_CONCURRENCY);
        let mut found = Vec::with_capacity(waiting.len());
        while let Some(read) = reads.next().await {
            match read {
                Ok(Ok(item)) => found.push(item),
                Ok(Err(e)) => return Err(SweepStop::Failed(error_chain(&e))),
                Err(_) => {
                    let of = waiting.len();
                    return Err(SweepStop::OutOfTime(format!(
                        "after reading {} of {of} writes waiting for the relay",
                        found.len()
                    )));
                }
            }
        }
        Ok(found)
    }

    /// Relays one phone's waiting writes as one batch (see [`Self::reconcile`]).
    pub(super) async fn reconcile_phone(
        &self,
        writes: &[(&Waiting, Change)],
        now: Timestamp,
        by: Instant,
        counts: &mut RelayCounts,
    ) -> Result<(), String> {
        for (found, _) in writes {
            tracing::warn!(
                phone = %found.phone,
                sort_key = %found.sort_key,
                since = %found.since,
                "a write still waits for the relay: relayed by the sweep"
            );
        }
        let changes: Vec<Change> = writes.iter().map(|(_, change)| change.clone()).collect();
        let relayed = self.relay_late(&changes, by, now).await;
        *counts += relayed.counts;
        if let Some(at) = relayed.retry_from {
            return Err(format!(
                "a write waiting for the relay ({at}) is not relayed yet"
            ));
        }
        counts.reconciled += writes.len();
        for (found, change) in writes {
            if change.decided.is_err() {
                // Parked with its image, for a person: out of the index, or it comes back.
                let aside = tokio::time::timeout_at(by, self.lot.set_aside(found)).await;
                aside
                    .map_err(|_| "out of time setting a parked write aside".to_owned())?
                    .map_err(|e| error_chain(&e))?;
            }
        }
        Ok(())
    }

    /// Confirms a relayed record's write to the lead table, if it waits for that.
    pub(super) async fn confirm(&self, change: &Change, counts: &mut RelayCounts) {
        let Some(mark) = change
            .decided
            .as_ref()
            .ok()
            .and_then(|d| d.relay_mark.as_ref())
        else {
            return;
        };
        if let Err(e) = self.lot.confirm(mark).await {
            counts.confirm_failures += 1;
            tracing::warn!(
                phone = %mark.phone,
                sort_key = %mark.sort_key,
                error = %error_chain(&e),
                "relayed, not confirmed: the sweep relays it again later"
            );
        }
    }
}
