//! The relay's use cases: act on what each committed write of the lead table decided, in
//! stream order ([`Relay::relay`]), and send every DNC request still pending, whatever
//! happened to the stream ([`Relay::sweep`], on a schedule). A record's new image says
//! what its write decided (a [`Change`]); once relayed, the write is confirmed to the lead
//! table ([`RelayLedger::confirm`]), and the sweep relays every write whose record has not
//! come ([`RECONCILE_GRACE`]): no signal waits on the stream alone
//! (docs/architecture.md).
//!
//! One concern a file: this one relays a batch (the stream's, a redriven one, or what the
//! sweep found late); `sweep.rs` is the schedule's sweep, `reconcile.rs` the writes whose
//! record never came and the confirmations, `parking.rs` what can never be sent,
//! `each_by.rs` the sweep's bounded concurrency.
//!
//! A batch goes in two passes: 1. every DNC signal of the batch goes into the company-wide
//! register ([`crate::core::register`]), which keeps the earliest signal per phone; this is
//! idempotent, so a batch handed over again changes nothing;
//! 2. the records' sends, in stream order: the phone's `dnc.requested` while its register
//!    entry says it is pending (then marked sent), each callback unless its phone is on the
//!    register by now (DNC is company-wide), each quarantined body.
//!
//! The DNC promise rests on no single record: a request is pending in the register until
//! SQS took it, and any pass that touches the phone, or the sweep, sends it under the
//! phone's one id. A record Lambda gives up on is redriven ([`crate::usecases::redrive`]).
//!
//! Failures: a transient one (SQS or DynamoDB unavailable, throttled) stops the batch at
//! that record, for Lambda to retry. A permanent one (SQS will never take the message, a
//! register item or a stream record this code cannot read) parks what could not be handled
//! with its reason, counted (`Parked`) and alarmed, and the relay goes on: one bad record
//! must not hold back every later message of its shard. Parking goes to the quarantine
//! queue; what that queue refuses for good goes to the [`ParkingLot`] (an item in the lead
//! table), cut to fit if need be. A callback whose phone's register entry cannot be read is
//! parked, not sent.
//!
//! Order: the stream gives one lead's writes in order, and so do the FIFO queues per phone.
//! At the first record that cannot be handled the relay stops and reports that record:
//! Lambda retries from it, so no later message of the batch overtakes it. A record handed
//! over again is sent again under the same message ids (FIFO deduplication and consumers
//! absorb it). Records that decided nothing (every other change of the table) pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use crate::core::decided::{Change, Decided, Unreadable, Waiting};
use crate::core::domain::{Phone, Timestamp, short_digest};
use crate::core::error_chain;
use crate::core::messages::{QuarantineRecord, Queue, QueueMessage};
use crate::core::register::{
    DncSignalRecord, RegisterEntry, Registered, RequestState, dnc_request, register,
};
pub use crate::usecases::reports::{BatchReport, RedriveReport, RelayCounts, SweepReport};

mod each_by;
mod parking;
mod reconcile;
mod sweep;

use each_by::{each_by, read_index};
pub use parking::parked;
pub use reconcile::{RECONCILE_GRACE, RECONCILE_LIMIT};
pub use sweep::{
    IMPORTED_SWEEP_LIMIT, SWEEP_CONCURRENCY, SWEEP_GRACE, SWEEP_LIMIT, SweepStop, Swept,
};

use crate::ports::{
    BackendError, DncRegisterStore, MessagePublisher, Parked, ParkingLot, RegisterSaveError,
    RelayLedger,
};

/// Attempts at a register write that keeps losing a race with another relay batch.
const REGISTER_ATTEMPTS: usize = 16;

pub struct Relay<P, R, K> {
    publisher: P,
    register: R,
    lot: K,
}

/// Register entries of the batch's phones, as pass 1 left them (`None`: not on it).
type Entries = HashMap<String, Option<RegisterEntry>>;

/// The ids of the DNC signals and messages a batch has handled: one batch may hold them
/// twice (a record Lambda hands over again with the rest of a retried batch, the entries a
/// sweep found); they are handled once.
#[derive(Default)]
struct Seen {
    signals: HashSet<String>,
    messages: HashSet<String>,
}

impl<P: MessagePublisher, R: DncRegisterStore, K: ParkingLot + RelayLedger> Relay<P, R, K> {
    pub fn new(publisher: P, register: R, lot: K) -> Self {
        Self {
            publisher,
            register,
            lot,
        }
    }

    /// Where the relay keeps what no queue takes.
    pub fn lot(&self) -> &K {
        &self.lot
    }

    /// Relays a stream batch, in two passes, until `by`: the record at which it stopped
    /// (a failure, or `by` reached) and every later one come again ([`BatchReport::retry_from`]),
    /// so the batch is answered before the function's timeout, never killed mid-way.
    pub async fn relay(&self, changes: &[Change], by: Instant) -> BatchReport {
        self.relay_with(changes, by, None).await
    }

    /// [`Self::relay`] for records found late (a batch Lambda gave up on, redriven): a
    /// callback whose `scheduledTime` is before `now` is counted (`callbacks_past_due`)
    /// and not sent, since a consumer would act on it late; everything else as usual.
    pub async fn relay_late(&self, changes: &[Change], by: Instant, now: Timestamp) -> BatchReport {
        self.relay_with(changes, by, Some(now)).await
    }

    async fn relay_with(
        &self,
        changes: &[Change],
        by: Instant,
        late: Option<Timestamp>,
    ) -> BatchReport {
        let mut report = BatchReport::default();
        let mut entries = Entries::new();
        let mut seen = Seen::default();
        // Pass 1, up to the first record that cannot be registered.
        let mut registered = changes.len();
        for (i, change) in changes.iter().enumerate() {
            let registering =
                self.register_signals(change, &mut entries, &mut seen, &mut report.counts);
            if let Err(why) = in_time(by, registering).await {
                stopped(change, &why);
                registered = i;
                break;
            }
        }
        // Pass 2, over the records registered, in order.
        for change in &changes[..registered] {
            let sending = self.send(change, &mut entries, &mut seen, &mut report.counts, late);
            if let Err(why) = in_time(by, sending).await {
                stopped(change, &why);
                report.retry_from = Some(change.sequence_number.clone());
                return report;
            }
            // Relayed: the write leaves the index of those waiting. A confirmation that
            // fails or runs out of time only costs a second relay of the same ids later.
            let confirming = self.confirm(change, &mut report.counts);
            if tokio::time::timeout_at(by, confirming).await.is_err() {
                report.counts.confirm_failures += 1;
            }
        }
        report.retry_from = changes.get(registered).map(|c| c.sequence_number.clone());
        report
    }

    async fn register_signals(
        &self,
        change: &Change,
        entries: &mut Entries,
        seen: &mut Seen,
        report: &mut RelayCounts,
    ) -> Result<(), String> {
        let decided = match &change.decided {
            Ok(decided) => decided,
            // A signal whose phone is not E.164 makes its record unreadable: parked here,
            // with its image, so that what it held can be put right by hand.
            Err(unreadable) => {
                report.unreadable += 1;
                let reason = format!(
                    "unreadable stream record {}: {}",
                    change.sequence_number, unreadable.why
                );
                return self.park(&reason, &unreadable.image, report).await;
            }
        };
        let unseen = |signal: &&DncSignalRecord| seen.signals.insert(signal.id().to_owned());
        for signal in decided.dnc_signals.iter().filter(unseen) {
            let phone = signal.phone();
            match self.register_signal(phone, signal).await {
                Ok(entry) => {
                    report.dnc_signals_registered += 1;
                    entries.insert(phone.as_str().to_owned(), Some(entry));
                }
                Err(BackendError {
                    permanent: Some(why),
                    ..
                }) => {
                    let reason = format!("DNC signal not registered: {why}");
                    let body = serde_json::to_string(signal).unwrap_or_default();
                    self.park(&reason, &body, report).await?;
                }
                Err(e) => return Err(error_chain(&e)),
            }
        }
        Ok(())
    }

    /// Adds the signal to the phone's register entry; returns the entry as it now is.
    async fn register_signal(
        &self,
        phone: &Phone,
        signal: &DncSignalRecord,
    ) -> Result<RegisterEntry, BackendError> {
        for _ in 0..REGISTER_ATTEMPTS {
            let current = self.register.load(phone).await?;
            let (entry, version) = match &current {
                Some((entry, version)) => (Some(entry), Some(*version)),
                None => (None, None),
            };
            match register(entry, signal, Timestamp::now()) {
                Registered::Known(entry) => return Ok(entry),
                Registered::Changed(entry) => {
                    match self.register.save(phone, &entry, version).await {
                        Ok(()) => return Ok(entry),
                        Err(RegisterSaveError::Conflict) => continue,
                        Err(RegisterSaveError::Backend(e)) => return Err(e),
                    }
                }
            }
        }
        Err(BackendError::new(
            "DNC register",
            "the register entry kept changing",
        ))
    }

    /// Sends the phone's `dnc.requested` if its entry says it is pending, then marks it
    /// sent; a request SQS refuses for good is parked and marked refused.
    async fn send_request(
        &self,
        phone: &Phone,
        entry: &RegisterEntry,
        report: &mut RelayCounts,
    ) -> Result<(), String> {
        if !entry.request.is_pending() {
            return Ok(());
        }
        let message = dnc_request(phone, entry);
        let marked = match self.publish(&message, report).await? {
            Published::Taken => self.register.mark_sent(phone, Timestamp::now()).await,
            Published::Parked(why) => {
                report.dnc_refused += 1;
                self.register.mark_refused(phone, why).await
            }
        };
        marked.map_err(|e| error_chain(&e))
    }

    async fn send(
        &self,
        change: &Change,
        entries: &mut Entries,
        seen: &mut Seen,
        report: &mut RelayCounts,
        late: Option<Timestamp>,
    ) -> Result<(), String> {
        // An unreadable record was parked in pass 1.
        let Ok(decided) = &change.decided else {
            return Ok(());
        };
        for signal in &decided.dnc_signals {
            self.send_pending(signal.phone(), entries, report).await?;
        }
        for message in &decided.messages {
            if !seen.messages.insert(message.id.clone()) {
                continue;
            }
            if message.queue == Queue::Callback {
                match self.on_register(&message.group, entries).await {
                    Ok(false) => {}
                    Ok(true) => {
                        report.callbacks_suppressed += 1;
                        if let Ok(phone) = Phone::parse(&message.group) {
                            self.send_pending(&phone, entries, report).await?;
                        }
                        continue;
                    }
                    Err(e) if e.is_permanent() => {
                        let reason =
                            "callback not sent: the phone's DNC register item is unreadable";
                        self.park(reason, &message.body, report).await?;
                        continue;
                    }
                    Err(e) => return Err(error_chain(&e)),
                }
                if let Some(now) = late
                    && past_due(message, now)
                {
                    tracing::warn!(id = %message.id, "callback found late, past its time: not sent");
                    report.callbacks_past_due += 1;
                    continue;
                }
            }
            self.publish(message, report).await?;
        }
        if let Some(record) = &decided.quarantine {
            match self.publisher.quarantine(record).await {
                Ok(()) => report.quarantine_forwarded += 1,
                Err(e) if e.is_permanent() => {
                    let reason = format!(
                        "quarantined body not forwarded: {}",
                        e.permanent.unwrap_or_default()
                    );
                    let body = call_events_messages::to_json(record);
                    self.park_in_table(&reason, &body, report).await?;
                }
                Err(e) => {
                    report.send_failures += 1;
                    return Err(error_chain(&e));
                }
            }
        }
        Ok(())
    }

    /// Sends the phone's request if the batch knows its entry and it is pending; then the
    /// batch holds it as sent, so it leaves once per batch.
    async fn send_pending(
        &self,
        phone: &Phone,
        entries: &mut Entries,
        report: &mut RelayCounts,
    ) -> Result<(), String> {
        if let Some(Some(entry)) = entries.get_mut(phone.as_str())
            && entry.request.is_pending()
        {
            self.send_request(phone, entry, report).await?;
            entry.request = RequestState::Sent {
                at: Timestamp::now().to_rfc3339(),
            };
        }
        Ok(())
    }

    async fn publish(
        &self,
        message: &QueueMessage,
        report: &mut RelayCounts,
    ) -> Result<Published, String> {
        if let Err(e) = self.publisher.send(message).await {
            if let Some(why) = e.permanent {
                let reason = format!("{} {} not sent: {why}", message.message_type, message.id);
                self.park(&reason, &message.body, report).await?;
                return Ok(Published::Parked(why));
            }
            report.send_failures += 1;
            return Err(error_chain(&e));
        }
        match message.queue {
            Queue::Callback => report.callbacks_sent += 1,
            Queue::Dnc => report.dnc_sent += 1,
        }
        Ok(Published::Taken)
    }

    /// Is the phone on the DNC register? Asked once per phone and batch.
    async fn on_register(&self, phone: &str, entries: &mut Entries) -> Result<bool, BackendError> {
        if let Some(entry) = entries.get(phone) {
            return Ok(entry.is_some());
        }
        let parsed = Phone::parse(phone).map_err(|e| {
            BackendError::permanent("DNC register", "the message's phone is invalid", e)
        })?;
        let entry = self.register.load(&parsed).await?.map(|(entry, _)| entry);
        let listed = entry.is_some();
        entries.insert(phone.to_owned(), entry);
        Ok(listed)
    }
}

/// Runs `step` until `by`; reaching `by` first is a stop like any other.
async fn in_time(
    by: Instant,
    step: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    match tokio::time::timeout_at(by, step).await {
        Ok(result) => result,
        Err(_) => Err("out of time: this record and the rest of the batch come again".into()),
    }
}

/// What became of a message.
enum Published {
    Taken,
    /// Refused for good, and parked: why.
    Parked(&'static str),
}

/// Is the callback's `scheduledTime` before `now`? (A body that does not say is sent.)
fn past_due(message: &QueueMessage, now: Timestamp) -> bool {
    match call_events_messages::Message::from_json(&message.body) {
        Ok(call_events_messages::Message::Callback(callback)) => {
            Timestamp::parse(&callback.scheduled_time).is_ok_and(|at| at < now)
        }
        _ => false,
    }
}

fn stopped(change: &Change, why: &str) {
    tracing::error!(
        sequence_number = %change.sequence_number,
        error = %why,
        "relay stops here; Lambda retries from this record"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn counts_add_up_field_by_field_and_each_has_its_own_metric() {
        let one = RelayCounts {
            callbacks_sent: 1,
            dnc_refused: 2,
            unreadable: 3,
            ..RelayCounts::default()
        };
        let mut total = one;
        total += one;
        assert_eq!(total.metrics().iter().map(|(_, n)| n).sum::<usize>(), 12);
        assert!(total.metrics().contains(&("DncRequestsRefused", 4)));
        let names: HashSet<&str> = total.metrics().iter().map(|(name, _)| *name).collect();
        assert_eq!(names.len(), total.metrics().len(), "a metric named twice");
    }
}
