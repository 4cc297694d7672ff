//! What the relay did, by trigger: [`RelayCounts`], what relaying did whatever started it,
//! held by one report per trigger ([`BatchReport`], [`SweepReport`], [`RedriveReport`]).

/// What relaying did, whichever way it was started: what SQS took, what was parked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounts {
    pub callbacks_sent: usize,
    /// Callbacks not sent: the phone is on the DNC register.
    pub callbacks_suppressed: usize,
    /// Callbacks found late (a given-up batch redriven) whose time had passed: counted,
    /// not sent late.
    pub callbacks_past_due: usize,
    pub dnc_sent: usize,
    pub dnc_signals_registered: usize,
    pub quarantine_forwarded: usize,
    pub send_failures: usize,
    /// Records or messages parked after a permanent failure (queue or table).
    pub parked: usize,
    /// Of `parked`, those the quarantine queue refused too: kept in the lead table.
    pub parked_in_table: usize,
    /// What could not be parked in the lead table either (DynamoDB failed the write): the
    /// relay stops there and retries it. Not an SQS failure.
    pub park_failures: usize,
    /// DNC requests SQS refused for good: parked, out of the sweep, for a person.
    pub dnc_refused: usize,
    pub unreadable: usize,
    /// Writes the sweep found waiting in the relay's index after their stream record should
    /// have come, and relayed (their record was lost, or is late).
    pub reconciled: usize,
    /// Confirmations that failed (DynamoDB unavailable): the write stays in the index, and
    /// the sweep relays it again later (the same message ids).
    pub confirm_failures: usize,
}

impl RelayCounts {
    /// Each count with the name of the metric the relay's line publishes it as. Every
    /// field is named here (the pattern has no `..`): a count added to the struct does not
    /// compile until it has its metric.
    pub fn metrics(&self) -> Vec<(&'static str, usize)> {
        let Self {
            callbacks_sent,
            callbacks_suppressed,
            callbacks_past_due,
            dnc_sent,
            dnc_signals_registered,
            quarantine_forwarded,
            send_failures,
            parked,
            parked_in_table,
            park_failures,
            dnc_refused,
            unreadable,
            reconciled,
            confirm_failures,
        } = *self;
        vec![
            ("CallbacksSent", callbacks_sent),
            ("CallbacksSuppressed", callbacks_suppressed),
            ("CallbacksPastDue", callbacks_past_due),
            ("DncRequestsSent", dnc_sent),
            ("DncSignalsRegistered", dnc_signals_registered),
            ("QuarantineForwarded", quarantine_forwarded),
            ("SendFailures", send_failures),
            ("Parked", parked),
            ("ParkedInTable", parked_in_table),
            ("ParkFailures", park_failures),
            ("DncRequestsRefused", dnc_refused),
            ("UnreadableRecords", unreadable),
            ("Reconciled", reconciled),
            ("ConfirmFailures", confirm_failures),
        ]
    }
}

impl std::ops::AddAssign for RelayCounts {
    /// Field by field; every field is named (no `..`), so none is skipped.
    fn add_assign(&mut self, other: Self) {
        let Self {
            callbacks_sent,
            callbacks_suppressed,
            callbacks_past_due,
            dnc_sent,
            dnc_signals_registered,
            quarantine_forwarded,
            send_failures,
            parked,
            parked_in_table,
            park_failures,
            dnc_refused,
            unreadable,
            reconciled,
            confirm_failures,
        } = other;
        self.callbacks_sent += callbacks_sent;
        self.callbacks_suppressed += callbacks_suppressed;
        self.callbacks_past_due += callbacks_past_due;
        self.dnc_sent += dnc_sent;
        self.dnc_signals_registered += dnc_signals_registered;
        self.quarantine_forwarded += quarantine_forwarded;
        self.send_failures += send_failures;
        self.parked += parked;
        self.parked_in_table += parked_in_table;
        self.park_failures += park_failures;
        self.dnc_refused += dnc_refused;
        self.unreadable += unreadable;
        self.reconciled += reconciled;
        self.confirm_failures += confirm_failures;
    }
}

/// A stream batch's report: its counts, and the record to retry from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub counts: RelayCounts,
    /// The sequence number of the first record not fully handled; it and every later
    /// record of the batch come again.
    pub retry_from: Option<String>,
}

/// A sweep's report: its counts, and the pending requests it found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub counts: RelayCounts,
    /// Writes found waiting in the relay's index longer than their stream record takes.
    pub waiting_found: usize,
    pub pending_found: usize,
    /// How long the longest pending request found has waited (0: none; `None`: the index
    /// could not be read).
    pub oldest_pending_seconds: Option<u64>,
    /// Requests imports owe: found (at most the sweep's limit), sent, and how long the
    /// longest found has waited (`None`: not read, the sweep stopped before).
    pub imported_found: usize,
    pub imported_sent: usize,
    pub oldest_imported_seconds: Option<u64>,
}

/// A redrive invocation's report: the counts of every batch it relayed again, and what
/// became of each on-failure message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveReport {
    pub counts: RelayCounts,
    /// Given-up stream batches relayed again whole.
    pub redriven: usize,
    /// Given-up stream batches the stream no longer held: written down for a person.
    pub gaps: usize,
    /// Given-up stream batches not redriven yet (a read short of the batch's end, SQS
    /// down): their on-failure messages come back later.
    pub deferred: usize,
}
