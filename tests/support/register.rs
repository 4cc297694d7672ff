//! Register entries as the relay writes them, for tests that seed the register directly.

use call_events::core::domain::{CampaignId, EventId, Phone, Timestamp};
use call_events::core::lead::{DncSignal, SignalSource};
use call_events::core::register::{
    DncReason, DncSignalRecord, Evidence, RegisterEntry, RequestState,
};

/// The entry of one key-9 signal of `campaign` at `at` (RFC 3339), id `event_id`, kept with
/// `evidence`, its request sent on 2024-01-29.
pub fn key9_entry(
    phone: &str,
    campaign: &str,
    at: &str,
    event_id: &str,
    evidence: Evidence,
) -> RegisterEntry {
    let at = Timestamp::parse(at).unwrap();
    let signal = DncSignal {
        phone: Phone::parse(phone).unwrap(),
        campaign_id: Some(CampaignId::from_stored(campaign.into())),
        external_lead_id: None,
        reason: DncReason::Keypress9,
        at,
        source: SignalSource {
            event_time: at,
            event_id: EventId::from_stored(event_id.into()),
        },
    };
    RegisterEntry {
        first: DncSignalRecord::new(&signal, evidence),
        signed: None,
        signals: 1,
        recent_signal_ids: [event_id.to_owned()].into(),
        request: RequestState::Sent {
            at: "2024-01-29T09:00:00.000Z".into(),
        },
        earlier_request: None,
    }
}
