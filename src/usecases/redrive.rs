//! The redrive of stream batches Lambda gave up on (CONTRACT §5). After
//! `MaximumRecordAgeInSeconds` Lambda drops a failing batch and writes only where it was
//! (stream, shard, first and last sequence number) to the relay's on-failure queue. The
//! redrive reads those records again from the stream, while the stream still holds them
//! (24 h), and runs the relay over them: the same use case, so the same message ids, the
//! register's idempotency and FIFO deduplication make a second pass harmless.
//!
//! A batch that cannot be relayed yet (SQS still down) is tried again later (the message
//! comes back on the on-failure queue). A batch the stream no longer holds is a gap: it is
//! counted, alarmed, and written down in the lead table with what is known (shard, sequence
//! range, time range) for a person (README, "Operating"). The DNC requests of a gap are not
//! lost even then: the register keeps them pending and the sweep sends them.

use crate::core::domain::Timestamp;
use crate::core::error_chain;
use crate::ports::{
    DncRegisterStore, MessagePublisher, Parked, ParkingLot, ReadError, StreamBatch, StreamReader,
};
use crate::usecases::relay::{Relay, RelayReport};

/// What became of one on-failure record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// Relayed again, whole.
    Relayed(RelayReport),
    /// The stream no longer holds it: written down as a gap.
    Gap,
    /// Not done yet (a transient failure): the on-failure message comes back later.
    Retry(String),
}

/// Redrives one on-failure record's batch through the relay.
pub async fn redrive<S, P, R, K>(
    reader: &S,
    relay: &Relay<P, R, K>,
    batch: &StreamBatch,
) -> Redriven
where
    S: StreamReader,
    P: MessagePublisher,
    R: DncRegisterStore,
    K: ParkingLot,
{
    match reader.read(batch).await {
        Ok(changes) => {
            let report = relay.relay(&changes).await;
            match &report.retry_from {
                Some(sequence_number) => {
                    Redriven::Retry(format!("the relay stopped at record {sequence_number}"))
                }
                None => Redriven::Relayed(report),
            }
        }
        Err(ReadError::Gone(why)) => {
            tracing::error!(
                shard = %batch.shard_id,
                start = %batch.start_sequence_number,
                end = %batch.end_sequence_number,
                why,
                "a given-up stream batch is no longer held: written down for the operator"
            );
            let gap = gap(batch, &why);
            match relay.lot().park(&gap).await {
                Ok(()) => Redriven::Gap,
                Err(e) => Redriven::Retry(error_chain(&e)),
            }
        }
        Err(ReadError::Backend(e)) => Redriven::Retry(error_chain(&e)),
    }
}

/// What is known of a batch the stream no longer holds, for the operator.
pub fn gap(batch: &StreamBatch, why: &str) -> Parked {
    Parked {
        kind: "stream-gap",
        at: Timestamp::now().to_rfc3339(),
        reason: format!(
            "stream batch given up by Lambda and no longer held by the stream ({why}): \
             its callbacks and quarantine forwards were never sent; its DNC signals reached \
             the register only if an earlier pass registered them"
        ),
        body: serde_json::to_string(batch).unwrap_or_default(),
    }
}
