//! The redrive of stream batches Lambda gave up on (docs/contract.md §5). After
//! `MaximumRecordAgeInSeconds` Lambda drops a failing batch and writes its invocation record
//! to the relay's on-failure destination: an S3 bucket, where the record holds every record
//! of the batch, kept as long as the bucket keeps it ([`redrive_kept`] relays them); a
//! release before the bucket had an SQS destination, whose record holds only where the batch
//! was (stream, shard, first and last sequence number): [`redrive`] reads those records
//! again from the stream while it still holds them (24 h). Either way the relay runs over
//! them: the same use case, so the same message ids, the register's idempotency and FIFO
//! deduplication make a second pass harmless.
//!
//! The read is complete or it is retried ([`read_batch`]): DynamoDB Streams may answer
//! empty pages before the records, expires iterators after 15 minutes and throttles; a read
//! that has not reached the batch's last sequence number within its time budget is never
//! counted done. A batch that cannot be relayed yet (SQS still down) is tried again later
//! (the message comes back on the on-failure queue). A batch the stream no longer holds is
//! a gap: counted, alarmed, and written down in the lead table with what is known (shard,
//! sequence range, time range) for a person (docs/operating.md). The DNC requests of a
//! gap are not lost even then: the register keeps them pending and the sweep sends them.

use std::time::Duration;

use tokio::time::Instant;

use crate::core::decided::{Change, sequence_after};
use crate::core::domain::Timestamp;
use crate::core::error_chain;
use crate::ports::{
    DncRegisterStore, MessagePublisher, PageError, Parked, ParkingLot, ReadError, RelayLedger,
    ShardPosition, StreamBatch, StreamShards,
};
use crate::usecases::relay::{BatchReport, Relay};

/// The pause after an empty page: DynamoDB Streams serves each shard a few reads a second,
/// and an empty page means the records are further on, not that there are none.
pub const EMPTY_PAGE_PAUSE: Duration = Duration::from_millis(250);
/// The first pause after a throttled read; doubles each time, up to [`THROTTLE_PAUSE_CAP`].
const THROTTLE_PAUSE: Duration = Duration::from_millis(100);
const THROTTLE_PAUSE_CAP: Duration = Duration::from_secs(2);
pub use crate::usecases::deadlines::RELAY_AFTER_READ;

/// What became of one on-failure record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// Relayed again, whole.
    Relayed(BatchReport),
    /// The stream no longer holds it: written down as a gap.
    Gap,
    /// Not done yet (a transient failure): the on-failure message comes back later.
    /// `report` counts what the relay did before it stopped, if it ran.
    Retry { why: String, report: BatchReport },
}

impl Redriven {
    /// Not done, for `why`, before the relay ran.
    pub fn retry_because(why: String) -> Self {
        Self::Retry {
            why,
            report: BatchReport::default(),
        }
    }
}

/// Redrives one on-failure record's batch through the relay, reading the stream until
/// `read_by`, then relaying it until [`RELAY_AFTER_READ`] later. `kept`: where the batch's
/// records are kept though this code could not read them there (said in a gap).
pub async fn redrive<S, P, R, K>(
    shards: &S,
    relay: &Relay<P, R, K>,
    batch: &StreamBatch,
    kept: Option<&str>,
    read_by: Instant,
) -> Redriven
where
    S: StreamShards,
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot + RelayLedger,
{
    match read_batch(shards, batch, read_by).await {
        Ok(changes) => redrive_kept(relay, &changes, read_by + RELAY_AFTER_READ).await,
        Err(ReadError::Gone(why)) => {
            tracing::error!(
                shard = %batch.shard_id,
                start = %batch.start_sequence_number,
                end = %batch.end_sequence_number,
                why,
                "a given-up stream batch is no longer held: written down for the operator"
            );
            match relay.lot().park(&gap(batch, &why, kept)).await {
                Ok(()) => Redriven::Gap,
                Err(e) => Redriven::retry_because(error_chain(&e)),
            }
        }
        Err(e) => Redriven::retry_because(error_chain(&e)),
    }
}

/// Relays a given-up batch's records again, as records found late: a callback whose time
/// has passed is counted, not sent ([`Relay::relay_late`]). Its records come from the
/// stream ([`redrive`]) or whole from Lambda's on-failure bucket.
pub async fn redrive_kept<P, R, K>(
    relay: &Relay<P, R, K>,
    changes: &[Change],
    by: Instant,
) -> Redriven
where
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot + RelayLedger,
{
    let report = relay.relay_late(changes, by, Timestamp::now()).await;
    match &report.retry_from {
        Some(sequence_number) => Redriven::Retry {
            why: format!("the relay stopped at record {sequence_number}"),
            report,
        },
        None => Redriven::Relayed(report),
    }
}

/// Every record of the batch, first to last sequence number, read page by page.
///
/// Complete only when a record at or past the batch's last sequence number was seen, or
/// the shard is closed and was read to its end. Empty pages are followed (after a short
/// pause); an expired iterator is renewed just after the last record read; a throttled read
/// is tried again after a growing pause. Anything else, or `by` reached first, is an error:
/// [`ReadError::Gone`] when the stream no longer holds the records, else one worth retrying.
pub async fn read_batch<S: StreamShards>(
    shards: &S,
    batch: &StreamBatch,
    by: Instant,
) -> Result<Vec<Change>, ReadError> {
    let mut changes: Vec<Change> = Vec::new();
    let mut iterator: Option<String> = None;
    let mut throttled = 0u32;
    let short = |changes: &[Change], why: &str| {
        ReadError::Incomplete(format!(
            "{why} after {} records, before sequence number {}",
            changes.len(),
            batch.end_sequence_number
        ))
    };
    loop {
        let current = match iterator.take() {
            Some(iterator) => iterator,
            None => {
                let from = match changes.last() {
                    Some(last) => ShardPosition::After(last.sequence_number.clone()),
                    None => ShardPosition::At(batch.start_sequence_number.clone()),
                };
                let Ok(got) = tokio::time::timeout_at(by, shards.iterator(batch, &from)).await
                else {
                    return Err(short(&changes, "out of time"));
                };
                match got {
                    Ok(Some(iterator)) => iterator,
                    // A closed shard with nothing after the last record read; with nothing
                    // read at all, the shard holds none of the batch: never counted done.
                    Ok(None) if changes.is_empty() => {
                        return Err(ReadError::Gone(
                            "the closed shard holds none of the batch's records".into(),
                        ));
                    }
                    Ok(None) => return Ok(changes),
                    Err(PageError::Throttled(_) | PageError::Expired) => {
                        pause(backoff(&mut throttled), by)
                            .await
                            .map_err(|()| short(&changes, "throttled until out of time"))?;
                        continue;
                    }
                    Err(PageError::Gone(why)) => return Err(ReadError::Gone(why)),
                    Err(PageError::Backend(e)) => return Err(ReadError::Backend(e)),
                }
            }
        };
        let Ok(page) = tokio::time::timeout_at(by, shards.page(&current)).await else {
            return Err(short(&changes, "out of time"));
        };
        match page {
            Ok(page) => {
                let empty = page.changes.is_empty();
                for change in page.changes {
                    let seq = change.sequence_number.as_str();
                    if sequence_after(seq, &batch.end_sequence_number) {
                        return Ok(changes);
                    }
                    // Before the batch, or read already (a renewed iterator): not again.
                    let read = changes.last().map(|c| c.sequence_number.as_str());
                    if sequence_after(&batch.start_sequence_number, seq)
                        || read.is_some_and(|last| !sequence_after(seq, last))
                    {
                        continue;
                    }
                    let last = !sequence_after(&batch.end_sequence_number, seq);
                    changes.push(change);
                    if last {
                        return Ok(changes);
                    }
                }
                // A closed shard read to its end: there is nothing more to read.
                let Some(next) = page.next else {
                    return Ok(changes);
                };
                if empty {
                    pause(EMPTY_PAGE_PAUSE, by)
                        .await
                        .map_err(|()| short(&changes, "only empty pages until out of time"))?;
                }
                iterator = Some(next);
            }
            // Renewed from the last record read, at the top of the loop.
            Err(PageError::Expired) => {}
            Err(PageError::Throttled(_)) => {
                pause(backoff(&mut throttled), by)
                    .await
                    .map_err(|()| short(&changes, "throttled until out of time"))?;
                iterator = Some(current);
            }
            Err(PageError::Gone(why)) => return Err(ReadError::Gone(why)),
            Err(PageError::Backend(e)) => return Err(ReadError::Backend(e)),
        }
    }
}

/// Sleeps `pause`, unless that would end past `by`.
async fn pause(pause: Duration, by: Instant) -> Result<(), ()> {
    if Instant::now() + pause >= by {
        return Err(());
    }
    tokio::time::sleep(pause).await;
    Ok(())
}

/// The next pause after a throttled read: doubling, capped, with jitter.
fn backoff(throttled: &mut u32) -> Duration {
    let ceiling = THROTTLE_PAUSE
        .saturating_mul(1u32 << (*throttled).min(8))
        .min(THROTTLE_PAUSE_CAP);
    *throttled += 1;
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// What is known of a batch the stream no longer holds, for the operator: what became of
/// what its records decided, and where its records are still kept, if anywhere.
pub fn gap(batch: &StreamBatch, why: &str, kept: Option<&str>) -> Parked {
    let kept = match kept {
        Some(kept) => format!("; its records are kept in {kept}"),
        None => String::new(),
    };
    Parked {
        kind: "stream-gap",
        at: Timestamp::now().to_rfc3339(),
        reason: format!(
            "stream batch given up by Lambda and no longer held by the stream ({why}){kept}: \
             what its writes decided and the relay had not confirmed still waits in the lead \
             table's index, and the sweep relays it (DNC signals and their requests; callbacks \
             still ahead, those past due counted); a quarantined body among them was not \
             forwarded (its item stays in the table 14 days)"
        ),
        body: serde_json::to_string(batch).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_pauses_grow_and_stay_under_their_cap() {
        let mut throttled = 0;
        let pauses: Vec<Duration> = (0..12).map(|_| backoff(&mut throttled)).collect();
        assert!(pauses.iter().all(|p| *p <= THROTTLE_PAUSE_CAP));
        assert!(pauses[0] <= THROTTLE_PAUSE);
        assert!(pauses[11] >= THROTTLE_PAUSE_CAP / 2);
    }
}
