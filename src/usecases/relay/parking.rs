//! What can never be sent, kept with its reason: on the quarantine queue, or, when that
//! refuses it too, as an item of the lead table, cut to fit.

use super::*;

/// A parked item's body is cut to this many bytes (a DynamoDB item holds 400 KB).
const PARKED_BODY_BYTES: usize = 300 * 1024;

impl<P: MessagePublisher, R: DncRegisterStore, K: ParkingLot + RelayLedger> Relay<P, R, K> {
    /// Puts what could not be handled, and why, on the quarantine queue; what that queue
    /// refuses for good goes to the parking lot.
    pub(super) async fn park(
        &self,
        reason: &str,
        body: &str,
        report: &mut RelayCounts,
    ) -> Result<(), String> {
        tracing::error!(reason, "parking after a permanent failure");
        let record = QuarantineRecord::new(
            Timestamp::now().to_rfc3339(),
            format!("relay: {reason}"),
            body.as_bytes(),
        );
        match self.publisher.quarantine(&record).await {
            Ok(()) => {
                report.parked += 1;
                Ok(())
            }
            Err(e) if e.is_permanent() => {
                let reason = format!("{reason}; the quarantine queue refused it too");
                self.park_in_table(&reason, body, report).await
            }
            Err(e) => {
                report.send_failures += 1;
                Err(error_chain(&e))
            }
        }
    }

    /// The last resort: an item in the lead table, with the body cut to fit if need be.
    pub(super) async fn park_in_table(
        &self,
        reason: &str,
        body: &str,
        report: &mut RelayCounts,
    ) -> Result<(), String> {
        let parked = parked(reason, body);
        match self.lot.park(&parked).await {
            Ok(()) => {
                report.parked += 1;
                report.parked_in_table += 1;
                Ok(())
            }
            Err(e) => {
                report.park_failures += 1;
                Err(error_chain(&e))
            }
        }
    }
}

/// A parked item for the parking lot: the body cut to fit a DynamoDB item, with its full
/// length and digest, so nothing about it is lost but bytes no item can hold.
pub fn parked(reason: &str, body: &str) -> Parked {
    let mut kept = body;
    let mut reason = reason.to_owned();
    if body.len() > PARKED_BODY_BYTES {
        let mut end = PARKED_BODY_BYTES;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        kept = &body[..end];
        reason = format!(
            "{reason}; body cut to {end} of {} bytes (sha-256 prefix {})",
            body.len(),
            short_digest(&[body])
        );
    }
    Parked {
        kind: "parked",
        at: Timestamp::now().to_rfc3339(),
        reason,
        body: kept.to_owned(),
    }
}
