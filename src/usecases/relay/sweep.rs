//! The sweep (every minute): every DNC request still pending on the register, whatever
//! happened to the stream; then the writes waiting for the relay ([`super::reconcile`]);
//! then, at their own pace, the requests imports owe. The platform's requests always first.

use super::*;

/// The sweep leaves a request pending for less than this to the stream's own relay pass,
/// which is about to send it: the sweep is for what the stream could not do.
pub const SWEEP_GRACE: Duration = Duration::from_secs(60);

/// Pending requests one sweep sends at most (each costs a read, a send and a write); more
/// wait for the next sweep, a minute later. With [`SWEEP_CONCURRENCY`] at a time, a
/// backlog of 5,000 leaves within three sweeps (BENCHMARKS.md, "The sweep after an outage").
pub const SWEEP_LIMIT: usize = 2000;

/// Requests imports owe that one sweep sends at most, after every platform request it
/// found: 100,000 leave within 34 sweeps (minutes), well within the 10 business days they
/// are due in, and a sweep of them takes a few seconds at AWS's latency (BENCHMARKS.md).
pub const IMPORTED_SWEEP_LIMIT: usize = 3000;

/// Pending requests a sweep handles at once. Each is one phone: its read, send and write
/// stay in order; different phones have no order between them.
pub const SWEEP_CONCURRENCY: usize = 16;

impl<P: MessagePublisher, R: DncRegisterStore, K: ParkingLot + RelayLedger> Relay<P, R, K> {
    /// Sends every DNC request pending since `now - SWEEP_GRACE` or earlier (up to
    /// [`SWEEP_LIMIT`], the longest pending first, [`SWEEP_CONCURRENCY`] at a time), then
    /// marks each sent. Reads only the register's index of pending requests, and each
    /// pending entry. Every entry is handled by `by`: reaching it stops the sweep, which is
    /// no failure (the next sweep goes on). A transient failure stops it too; a permanent
    /// one is parked and the sweep goes on. An entry it cannot read is parked once and taken
    /// out of the index (marked refused), for a person. What it did is reported whether it
    /// finished or not.
    pub async fn sweep(&self, now: Timestamp, by: Instant) -> Swept {
        let mut report = SweepReport::default();
        let stopped = self.sweep_into(now, by, &mut report).await.err();
        Swept { report, stopped }
    }

    pub(super) async fn sweep_into(
        &self,
        now: Timestamp,
        by: Instant,
        report: &mut SweepReport,
    ) -> Result<(), SweepStop> {
        let before = now.minus(SWEEP_GRACE);
        let reading = self.register.pending(before, SWEEP_LIMIT);
        let phones = read_index(by, "the pending-request index", reading).await?;
        report.pending_found = phones.len();
        report.oldest_pending_seconds = Some(age(now, phones.first().map(|(_, s)| s.as_str())));
        // The oldest first: entries start in the index's order, a few at a time.
        self.send_each(&phones, by, "pending requests", &mut report.counts)
            .await?;
        // Then the writes whose stream record has not come: their requests join the
        // register, and leave, in the same pass.
        self.reconcile(now, by, report).await?;
        // Last, what imports owe, at their own pace: never before a platform request.
        self.sweep_imported(now, by, report).await
    }

    /// Sends up to [`IMPORTED_SWEEP_LIMIT`] requests imports owe (the longest pending
    /// first, [`SWEEP_CONCURRENCY`] at a time), then marks each sent: due within 10
    /// business days of their import, they leave a few thousand a minute after everything
    /// the platform's signals owe (BENCHMARKS.md, "Imported requests").
    pub(super) async fn sweep_imported(
        &self,
        now: Timestamp,
        by: Instant,
        report: &mut SweepReport,
    ) -> Result<(), SweepStop> {
        let reading = self.register.pending_imported(IMPORTED_SWEEP_LIMIT);
        let phones = read_index(by, "the imported requests", reading).await?;
        report.imported_found = phones.len();
        report.oldest_imported_seconds = Some(age(now, phones.first().map(|(_, s)| s.as_str())));
        let mut phase = RelayCounts::default();
        let sent = self
            .send_each(&phones, by, "requests imports owe", &mut phase)
            .await;
        report.imported_sent = phase.dnc_sent;
        report.counts += phase;
        sent
    }

    /// Sends each phone's pending request ([`Self::sweep_one`]), [`SWEEP_CONCURRENCY`] at a
    /// time, in the index's order, each by `by`.
    async fn send_each(
        &self,
        phones: &[(Phone, String)],
        by: Instant,
        what: &str,
        counts: &mut RelayCounts,
    ) -> Result<(), SweepStop> {
        each_by(phones, by, what, counts, |(phone, _)| async move {
            let mut counts = RelayCounts::default();
            let sweeping = self.sweep_one(phone, &mut counts);
            let outcome = tokio::time::timeout_at(by, sweeping).await.ok();
            (counts, outcome)
        })
        .await
    }

    /// Sends one pending entry's request (see [`Self::sweep`]).
    pub(super) async fn sweep_one(
        &self,
        phone: &Phone,
        counts: &mut RelayCounts,
    ) -> Result<(), String> {
        let entry = match self.register.load(phone).await {
            Ok(entry) => entry.map(|(entry, _)| entry),
            Err(e) if e.is_permanent() => {
                let reason = "DNC request not sent: the register item is unreadable";
                counts.unreadable += 1;
                self.park(reason, phone.as_str(), counts).await?;
                return self
                    .register
                    .mark_refused(phone, reason)
                    .await
                    .map_err(|e| error_chain(&e));
            }
            Err(e) => return Err(error_chain(&e)),
        };
        match entry {
            Some(entry) => self.send_request(phone, &entry, counts).await,
            None => Ok(()),
        }
    }
}

/// What a sweep did, and why it stopped early if it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub report: SweepReport,
    pub stopped: Option<SweepStop>,
}

/// Why a sweep stopped before the end of what it found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepStop {
    /// Its time ran out: no failure, the next sweep goes on where it stopped.
    #[error("out of time {0}")]
    OutOfTime(String),
    /// A transient failure (SQS or the register unavailable).
    #[error("{0}")]
    Failed(String),
}

/// How long, in whole seconds, since `since` (RFC 3339) at `now`: 0 for none.
pub(super) fn age(now: Timestamp, since: Option<&str>) -> u64 {
    since
        .and_then(|since| Timestamp::parse(since).ok())
        .map(|since| now.to_unix_parts().0 - since.to_unix_parts().0)
        .map_or(0, |age| u64::try_from(age).unwrap_or(0))
}
