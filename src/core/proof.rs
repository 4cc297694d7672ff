//! Proving an opt-out (docs/contract.md §8, `call-events-dnc prove` and `export`): what the
//! register keeps of a phone, checked. The evidence is the signed request that carried the
//! phone's first DNC signal; it proves the opt-out when its kept signature verifies its
//! kept bytes with a configured secret (whatever the signature's age).
//!
//! An imported signal (`call-events-dnc import`) has its provenance instead: the list, the
//! file's hash, the line. It shows what the company's list held, and no platform signature
//! stands behind it: an entry with nothing else is [`Verdict::Imported`] (exit 4). When
//! the platform also reported the phone, the register keeps that signed signal beside the
//! imported first one, and it is what proves the opt-out.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use crate::core::domain::Timestamp;
use crate::core::register::{
    DncReason, DncSource, Evidence, Provenance, RegisterEntry, RequestState,
};
use crate::core::signature::{Scheme, SignatureError, Verifier};
use call_events_messages::ApiRecord;

/// US telemarketing rules: an opt-out is honoured within 10 business days.
pub const HONOURED_WITHIN_BUSINESS_DAYS: u32 = 10;

/// The Monday-to-Friday dates after `received`'s date up to and including `sent`'s (UTC):
/// 0 the same day, 1 from a Friday to the Monday after. A `sent` before `received` is 0.
pub fn business_days(received: NaiveDate, sent: NaiveDate) -> u32 {
    received
        .iter_days()
        .skip(1)
        .take_while(|day| *day <= sent)
        .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
        .fold(0, |n, _| n + 1)
}

/// The kept evidence, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceCheck {
    pub received_at: String,
    pub signature_header: String,
    pub verified: bool,
    /// The scheme that verified it (`None` when it does not verify).
    pub scheme: Option<Scheme>,
    /// Why it does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The signed body as kept: text, and its exact bytes in base64 when the text is not
    /// them. With the header and the secret, anyone can check it again.
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// Checks `evidence`'s signature over its exact bytes with `verifier`'s secrets.
pub fn check_evidence(verifier: &Verifier, evidence: &Evidence) -> EvidenceCheck {
    let verdict = verify(verifier, evidence);
    EvidenceCheck {
        received_at: evidence.received_at.clone(),
        signature_header: evidence.signature_header.clone(),
        verified: verdict.is_ok(),
        scheme: verdict.as_ref().ok().copied(),
        problem: verdict.err(),
        body: evidence.body.clone(),
        body_base64: evidence.body_base64.clone(),
    }
}

fn verify(verifier: &Verifier, evidence: &Evidence) -> Result<Scheme, String> {
    let header = evidence.signature_header.trim();
    if header.is_empty() {
        return Err("no signature header was kept with the signal".into());
    }
    let body = evidence
        .bytes()
        .map_err(|e| format!("the kept body cannot be decoded: {e}"))?;
    verifier.verify_kept(header, &body).map_err(|e| match e {
        SignatureError::Malformed | SignatureError::Missing => {
            "the kept signature header is malformed".into()
        }
        SignatureError::V1Refused => {
            "a legacy v1 signature, and ACCEPT_LEGACY_V1_SIGNATURES is false".into()
        }
        _ => "the kept signature does not match the kept body with any configured secret \
              (a secret since removed? add it to WEBHOOK_SECRET for this command)"
            .into(),
    })
}

/// A lead of the phone, as `prove` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadFlag {
    pub campaign_id: String,
    pub status: Option<String>,
    pub dnc: bool,
    pub dnc_at: Option<String>,
}

/// What `prove` concludes, and its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// On the register, and the evidence verifies: exit 0.
    Proven,
    /// Not on the register: exit 1.
    NotOnRegister,
    /// On the register, but the evidence is missing or does not verify, or the entry is
    /// unreadable: exit 2.
    NotProven,
    /// On the register from an imported list only: its provenance is shown, and no
    /// platform signature stands behind it: exit 4.
    Imported,
    /// On the register as a company service recorded it (`POST /v1/opt-outs`): who
    /// recorded it is shown, and it rests on the company's own record: exit 4.
    Recorded,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Proven => 0,
            Self::NotOnRegister => 1,
            Self::NotProven => 2,
            Self::Imported | Self::Recorded => 4,
        }
    }
}

/// The proof of one phone's opt-out: `prove --json` prints it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
    pub phone: String,
    pub verdict: Verdict,
    /// Why it is not proven.
    pub problem: Option<String>,
    pub on_register: bool,
    pub dnc_at: Option<String>,
    pub reason: Option<DncReason>,
    pub campaign_id: Option<String>,
    pub external_lead_id: Option<String>,
    pub source: Option<DncSource>,
    pub signals: Option<u64>,
    /// The first signal's kind: `signed` (a platform request) or `imported`.
    pub kind: Option<&'static str>,
    /// The first signal's provenance, when it was imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The first signal's record, when a company service recorded it (kind `api`): who,
    /// where the person said it, the caller's reference, the exact request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<ApiRecord>,
    /// The signed request checked: the first signal's, or when that was imported, the
    /// earliest signal the platform reported for the phone (`signedAt` its time).
    pub evidence: Option<EvidenceCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    pub request_state: Option<&'static str>,
    pub request_sent_at: Option<String>,
    /// Why SQS refused the request for good, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_refused: Option<String>,
    /// Business days from receipt to `requestSentAt`; `None` while pending, and when the
    /// first request was sent by an earlier release at a time it did not record
    /// (`earlierRequest`): a resend's time is not the request's.
    pub business_days_to_request: Option<u32>,
    /// What is known of a first request an earlier release sent without recording when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier_request: Option<String>,
    pub leads: Vec<LeadFlag>,
}

/// What the register holds for a phone: an entry, one this code cannot read (why), or none.
pub type Found = Option<Result<RegisterEntry, String>>;

/// Proves `phone`'s opt-out from what the register and the lead table hold.
pub fn prove(phone: &str, found: Found, leads: Vec<LeadFlag>, verifier: &Verifier) -> Proof {
    let mut proof = Proof {
        phone: phone.to_owned(),
        verdict: Verdict::NotOnRegister,
        problem: None,
        on_register: false,
        dnc_at: None,
        reason: None,
        campaign_id: None,
        external_lead_id: None,
        source: None,
        signals: None,
        kind: None,
        recorded: None,
        provenance: None,
        evidence: None,
        signed_at: None,
        request_state: None,
        request_sent_at: None,
        request_refused: None,
        business_days_to_request: None,
        earlier_request: None,
        leads,
    };
    let entry = match found {
        None => return proof,
        Some(Err(why)) => {
            proof.on_register = true;
            proof.verdict = Verdict::NotProven;
            proof.problem = Some(format!("the register entry cannot be read: {why}"));
            return proof;
        }
        Some(Ok(entry)) => entry,
    };
    let first = &entry.first;
    let provenance = first.evidence.imported().cloned();
    let recorded = first.evidence.api().cloned();
    // The signed request that proves the opt-out: the first signal's, or the earliest
    // signed one kept beside an imported first.
    let signed = [Some(first), entry.signed.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|s| Some((s.evidence.signed()?, s.signal.at)));
    let evidence = signed.map(|(evidence, _)| check_evidence(verifier, evidence));
    let sent_at = match &entry.request {
        RequestState::Sent { at } => Some(at.clone()),
        _ => None,
    };
    // The clock starts when the register learnt of the opt-out in a way that owed a
    // request: the signed request's receipt, or (only imported) the import.
    let learnt_at = evidence
        .as_ref()
        .map(|e| e.received_at.clone())
        .or_else(|| recorded.as_ref().map(|r| r.received_at.clone()))
        .or_else(|| provenance.as_ref().map(|p| p.imported_at.clone()));
    // To the first send recorded (for an entry of the first release, which recorded none,
    // the one this release recorded).
    proof.business_days_to_request = sent_at
        .as_deref()
        .zip(learnt_at.as_deref())
        .and_then(|(sent, learnt)| days_between(learnt, sent));
    proof.earlier_request = entry.earlier_request.clone();
    (proof.verdict, proof.problem) = match &evidence {
        Some(evidence) if evidence.verified => (Verdict::Proven, None),
        Some(evidence) => (Verdict::NotProven, evidence.problem.clone()),
        None if recorded.is_some() => (
            Verdict::Recorded,
            Some(NO_SIGNATURE_BEHIND_A_RECORD.to_owned()),
        ),
        None => (
            Verdict::Imported,
            Some(NO_SIGNATURE_BEHIND_AN_IMPORT.to_owned()),
        ),
    };
    if first.is_signed() {
        proof.signed_at = None;
    } else {
        proof.signed_at = signed.map(|(_, at)| at.to_rfc3339());
    }
    proof.kind = Some(first.evidence.kind());
    proof.provenance = provenance;
    proof.recorded = recorded;
    proof.on_register = true;
    proof.dnc_at = Some(first.signal.at.to_rfc3339());
    proof.reason = Some(first.signal.reason);
    proof.campaign_id = first
        .signal
        .campaign_id
        .as_ref()
        .map(|c| c.as_str().to_owned());
    proof.external_lead_id = first
        .signal
        .external_lead_id
        .as_ref()
        .map(|e| e.as_str().to_owned());
    proof.source = Some(DncSource {
        event_type: first.signal.reason.event_type(),
        event_time: first.signal.source.event_time.to_rfc3339(),
        event_id: first.signal.source.event_id.as_str().to_owned(),
    });
    proof.signals = Some(entry.signals);
    proof.evidence = evidence;
    proof.request_state = Some(entry.request.name());
    proof.request_sent_at = sent_at;
    if let RequestState::Refused { why } = &entry.request {
        proof.request_refused = Some(why.clone());
    }
    proof
}

/// What `prove` says of an entry that only an import put on the register.
pub const NO_SIGNATURE_BEHIND_AN_IMPORT: &str = "imported from the company's own list: its \
     provenance shows what the list held, and no platform signature stands behind it";

/// What `prove` says of an entry whose first signal a company service recorded.
pub const NO_SIGNATURE_BEHIND_A_RECORD: &str = "recorded by a company service through the \
     register's API: it rests on the company's own record, and no platform signature stands \
     behind it";

/// Business days from the evidence's receipt to the request's (RFC 3339 times); `None`
/// when either cannot be read.
fn days_between(received_at: &str, sent_at: &str) -> Option<u32> {
    let received = Timestamp::parse(received_at).ok()?.utc_date();
    let sent = Timestamp::parse(sent_at).ok()?.utc_date();
    Some(business_days(received, sent))
}

/// The date of an RFC 3339 time, or the text as it is.
fn date(at: &str) -> String {
    Timestamp::parse(at).map_or_else(|_| at.to_owned(), |t| t.utc_date().to_string())
}

impl Proof {
    /// What a proven opt-out rests on, in one sentence: the platform's signed signal of its
    /// date, and when the company's list dates it earlier, that the list's date is the
    /// company's own record.
    pub fn what_verifies(&self) -> String {
        let scheme = self
            .evidence
            .as_ref()
            .and_then(|e| e.scheme)
            .map_or("?", Scheme::as_str);
        match (&self.provenance, &self.signed_at) {
            (Some(p), Some(signed_at)) => format!(
                "the platform's signed signal of {} verifies ({scheme}); the earlier date {} is \
                 the company's own record (imported from {:?}), which no signature stands behind",
                date(signed_at),
                self.dnc_at.as_deref().map(date).unwrap_or_default(),
                p.source
            ),
            _ => format!(
                "the platform's signed {} signal of {} verifies ({scheme})",
                self.reason.map_or("DNC", DncReason::as_str),
                self.dnc_at.as_deref().map(date).unwrap_or_default()
            ),
        }
    }

    /// Why no business days are counted, by the request's state (`None` when they are).
    pub fn no_days_counted(&self) -> Option<&'static str> {
        if self.business_days_to_request.is_some() {
            return None;
        }
        Some(match self.request_state {
            Some(RequestState::NONE) => {
                "no DNC request is owed: the import did not ask for one, and the platform has \
                 not reported the phone"
            }
            Some(RequestState::PENDING) => "the DNC request is pending: not sent yet",
            Some(RequestState::REFUSED) => {
                "the DNC request was refused by the queue for good: a person must act"
            }
            Some(RequestState::SENT) if self.earlier_request.is_some() => {
                "the first send was made by an earlier release, which did not record when"
            }
            Some(_) => "the times kept cannot be read",
            None => "the phone is not on the register",
        })
    }

    /// The report a person reads: the verdict first, then what it rests on.
    pub fn report(&self) -> String {
        let headline = match self.verdict {
            Verdict::Proven => format!(
                "PROVEN: {} is on the DNC register: {}",
                self.phone,
                self.what_verifies()
            ),
            Verdict::NotOnRegister => {
                format!("NOT ON THE REGISTER: {} has no DNC signal", self.phone)
            }
            Verdict::Imported => format!(
                "IMPORTED, NOT SIGNED: {} is on the DNC register from an imported list; no \
                 platform signature stands behind it",
                self.phone
            ),
            Verdict::Recorded => format!(
                "RECORDED, NOT SIGNED: {} is on the DNC register as a company service \
                 recorded it; it rests on the company's own record",
                self.phone
            ),
            Verdict::NotProven => format!(
                "NOT PROVEN: {}: {}",
                self.phone,
                self.problem
                    .as_deref()
                    .unwrap_or("the evidence does not verify")
            ),
        };
        let mut lines = vec![headline];
        let mut row = |label: &str, value: String| lines.push(format!("  {label:<15}{value}"));
        let none = || "-".to_owned();
        match (&self.dnc_at, self.reason, &self.provenance) {
            (Some(at), _, Some(p)) => row(
                "list's date",
                format!(
                    "{at}  the company's own record, imported from {:?}",
                    p.source
                ),
            ),
            (Some(at), Some(reason), None) => {
                let campaign = self.campaign_id.as_deref().unwrap_or("-");
                row(
                    "opt-out",
                    format!("{at}  {}  campaign {campaign}", reason.as_str()),
                );
            }
            _ => {}
        }
        if let Some(source) = self.source.as_ref().filter(|_| self.provenance.is_none()) {
            row(
                "source event",
                format!(
                    "{} {} at {}",
                    serde_json::to_value(source.event_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    source.event_id,
                    source.event_time
                ),
            );
        }
        if let Some(p) = &self.provenance {
            row(
                "imported from",
                format!("{} at {}", p.source, p.imported_at),
            );
            row("file", format!("sha256 {}, line {}", p.file_sha256, p.line));
            row("line", format!("{:?}", p.line_text));
        }
        if let Some(r) = &self.recorded {
            row("recorded by", r.principal.clone());
            row("channel", r.channel.clone());
            row("reference", format!("{:?}", r.reference));
            row(
                "received",
                format!(
                    "{}  request {} from {}",
                    r.received_at, r.request_id, r.source_ip
                ),
            );
            row("request body", r.body.clone());
        }
        if let Some(at) = &self.signed_at {
            row("signed signal", format!("{at}  the platform's own"));
        }
        if let Some(evidence) = &self.evidence {
            row(
                "request recv'd",
                format!(
                    "{}  the platform's request reached the webhook",
                    evidence.received_at
                ),
            );
            let verdict = match (evidence.verified, evidence.scheme) {
                (true, Some(scheme)) => format!("verified ({})", scheme.as_str()),
                _ => "does NOT verify".to_owned(),
            };
            row(
                "signature",
                format!("{verdict}  {}", shorten(&evidence.signature_header, 40)),
            );
        }
        if let Some(state) = self.request_state {
            let detail = match (&self.request_sent_at, self.business_days_to_request) {
                (Some(at), Some(days)) => {
                    let late = match days > HONOURED_WITHIN_BUSINESS_DAYS {
                        true => " (LATE: over the 10 the rule allows)",
                        false => "",
                    };
                    let after = match self.evidence.is_some() {
                        true => "receipt",
                        false => "the import",
                    };
                    let recorded = match &self.earlier_request {
                        Some(earlier) => format!("{earlier}; first recorded: "),
                        None => String::new(),
                    };
                    format!("{recorded}{state} {at}, {days} business day(s) after {after}{late}")
                }
                (Some(at), None) => match &self.earlier_request {
                    Some(earlier) => format!("{earlier}; first recorded: {state} {at}"),
                    None => format!("{state} {at}"),
                },
                (None, _) if self.earlier_request.is_some() => {
                    let earlier = self.earlier_request.clone().unwrap_or_default();
                    format!("{earlier}; {state}")
                }
                _ => match &self.request_refused {
                    Some(why) => format!("{state}: {why}"),
                    None => format!(
                        "{state}: {}",
                        self.no_days_counted().unwrap_or("no business days counted")
                    ),
                },
            };
            row("DNC request", detail);
        }
        if let Some(signals) = self.signals {
            row("signals", signals.to_string());
        }
        if self.leads.is_empty() {
            row("leads", "none in the lead table".to_owned());
        }
        for (i, lead) in self.leads.iter().enumerate() {
            let label = if i == 0 { "leads" } else { "" };
            let dnc = match (lead.dnc, &lead.dnc_at, self.on_register) {
                (true, Some(at), _) => format!("dnc yes ({at})"),
                (true, None, _) => "dnc yes".to_owned(),
                (false, _, true) => "dnc no (the register covers every campaign)".to_owned(),
                (false, _, false) => "dnc no".to_owned(),
            };
            row(
                label,
                format!(
                    "{}  status {}  {dnc}",
                    lead.campaign_id,
                    lead.status.clone().unwrap_or_else(none)
                ),
            );
        }
        lines.join("\n")
    }
}

fn shorten(text: &str, at_most: usize) -> String {
    match text.char_indices().nth(at_most) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// One register entry as `export` writes it (docs/contract.md §8), `problem` saying why it
/// is not verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRow {
    pub phone: String,
    pub dnc_at: Option<String>,
    pub reason: Option<&'static str>,
    pub campaign_id: Option<String>,
    pub request_state: Option<&'static str>,
    pub request_sent_at: Option<String>,
    pub signals: Option<u64>,
    pub verified: bool,
    pub problem: Option<String>,
    /// A first request an earlier release sent at a time it did not record
    /// (`requestSentAt` is then a resend's).
    pub earlier_request: Option<String>,
    /// The first signal's kind: `signed`, `imported` or `api`.
    pub kind: Option<&'static str>,
    /// Where the person said it, for a first signal a company service recorded (`agent`,
    /// `sms`, ...).
    pub channel: Option<String>,
}

impl ExportRow {
    /// The CSV header, in the order of the fields.
    pub const COLUMNS: [&'static str; 12] = [
        "phone",
        "dncAt",
        "reason",
        "campaignId",
        "requestState",
        "requestSentAt",
        "signals",
        "verified",
        "problem",
        "earlierRequest",
        "kind",
        "channel",
    ];

    /// The row of an entry read (`Ok`) or of an item that cannot be (`Err(why)`).
    pub fn of(phone: String, entry: Result<RegisterEntry, String>, verifier: &Verifier) -> Self {
        let found = Some(entry);
        let proof = prove(&phone, found, Vec::new(), verifier);
        Self {
            phone,
            dnc_at: proof.dnc_at,
            reason: proof.reason.map(DncReason::as_str),
            campaign_id: proof.campaign_id,
            request_state: proof.request_state,
            request_sent_at: proof.request_sent_at,
            signals: proof.signals,
            verified: proof.verdict == Verdict::Proven,
            problem: proof.problem,
            earlier_request: proof.earlier_request,
            kind: proof.kind,
            channel: proof.recorded.map(|r| r.channel),
        }
    }

    /// The row's fields as CSV cells, in [`COLUMNS`](Self::COLUMNS) order.
    pub fn cells(&self) -> [String; 12] {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.phone.clone(),
            text(&self.dnc_at),
            self.reason.unwrap_or_default().to_owned(),
            text(&self.campaign_id),
            self.request_state.unwrap_or_default().to_owned(),
            text(&self.request_sent_at),
            self.signals.map(|n| n.to_string()).unwrap_or_default(),
            self.verified.to_string(),
            text(&self.problem),
            text(&self.earlier_request),
            self.kind.unwrap_or_default().to_owned(),
            text(&self.channel),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::register::{DncSignalRecord, evidence_of_request};
    use crate::core::signature::{Secret, sign_v1, sign_v2};
    use std::collections::VecDeque;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn business_days_count_weekdays_after_receipt_up_to_the_request() {
        // 2024-01-26 is a Friday.
        for (received, sent, expected) in [
            ("2024-01-26", "2024-01-26", 0),  // the same day
            ("2024-01-26", "2024-01-27", 0),  // Friday to Saturday
            ("2024-01-26", "2024-01-28", 0),  // to Sunday
            ("2024-01-26", "2024-01-29", 1),  // to Monday
            ("2024-01-27", "2024-01-29", 1),  // Saturday to Monday
            ("2024-01-22", "2024-01-26", 4),  // Monday to Friday
            ("2024-01-22", "2024-02-05", 10), // two weeks
            ("2024-01-26", "2024-01-25", 0),  // a request dated before (clock skew)
        ] {
            assert_eq!(
                business_days(day(received), day(sent)),
                expected,
                "{received} to {sent}"
            );
        }
    }

    const SECRET: &str = "a-secret-of-sixteen-or-more";
    const BODY: &str = r#"{"eventType":"lead.call_key_pressed"}"#;

    fn verifier() -> Verifier {
        Verifier::new(vec![Secret::new(SECRET).unwrap()], 300)
    }

    fn entry(header: String, body: &[u8], request: RequestState) -> RegisterEntry {
        let signal = crate::core::lead::DncSignal {
            phone: crate::core::domain::Phone::parse("+12025550100").unwrap(),
            campaign_id: Some(crate::core::domain::CampaignId::from_stored(
                "camp_1".into(),
            )),
            external_lead_id: None,
            reason: DncReason::Keypress9,
            at: Timestamp::parse("2024-01-26T12:00:00.000Z").unwrap(),
            source: crate::core::lead::SignalSource {
                event_time: Timestamp::parse("2024-01-26T12:00:00.000Z").unwrap(),
                event_id: crate::core::domain::EventId::from_stored("evt_1".into()),
            },
        };
        let mut evidence = evidence_of_request(Some(&header), body);
        evidence.received_at = "2024-01-26T12:00:01.000Z".into();
        RegisterEntry {
            first: DncSignalRecord::new(&signal, evidence),
            signed: None,
            signals: 1,
            recent_signal_ids: VecDeque::from(["evt_1".to_owned()]),
            request,
            earlier_request: None,
        }
    }

    fn signed(body: &[u8]) -> String {
        sign_v2(&Secret::new(SECRET).unwrap(), 1_706_270_400_000, body)
    }

    fn sent(at: &str) -> RequestState {
        RequestState::Sent { at: at.into() }
    }

    #[test]
    fn each_verdict_has_its_exit_status() {
        let v = verifier();
        let proven = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(BODY.as_bytes()),
                BODY.as_bytes(),
                sent("2024-01-29T09:00:00.000Z"),
            ))),
            Vec::new(),
            &v,
        );
        assert_eq!(proven.verdict.exit_code(), 0);
        assert!(!proven.report().contains("LATE"));
        assert_eq!(proven.business_days_to_request, Some(1), "Friday to Monday");
        assert_eq!(proven.evidence.as_ref().unwrap().scheme, Some(Scheme::V2));
        assert!(proven.report().starts_with("PROVEN: +12025550100"));

        let absent = prove("+12025550100", None, Vec::new(), &v);
        assert_eq!(absent.verdict.exit_code(), 1);
        assert!(absent.report().starts_with("NOT ON THE REGISTER"));

        let tampered = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(BODY.as_bytes()),
                BODY.replace("key", "kez").as_bytes(),
                sent("2024-01-29T09:00:00.000Z"),
            ))),
            Vec::new(),
            &v,
        );
        assert_eq!(tampered.verdict.exit_code(), 2);
        assert!(
            tampered
                .report()
                .starts_with("NOT PROVEN: +12025550100: the kept signature does not match")
        );

        let unreadable = prove(
            "+12025550100",
            Some(Err("version: not a number".into())),
            Vec::new(),
            &v,
        );
        assert_eq!(unreadable.verdict.exit_code(), 2);
        assert!(unreadable.on_register);

        let unsigned = prove(
            "+12025550100",
            Some(Ok(entry(
                String::new(),
                BODY.as_bytes(),
                sent("2024-01-29T09:00:00.000Z"),
            ))),
            Vec::new(),
            &v,
        );
        assert_eq!(unsigned.verdict.exit_code(), 2);
        assert!(unsigned.problem.unwrap().contains("no signature header"));
    }

    #[test]
    fn an_entry_of_the_first_release_claims_no_send_and_counts_to_the_first_recorded_one() {
        let mut old = entry(
            signed(BODY.as_bytes()),
            BODY.as_bytes(),
            sent("2026-12-07T09:00:00.000Z"),
        );
        old.earlier_request = Some(crate::core::register::EARLIER_RELEASE_REQUEST.to_owned());
        let proof = prove("+12025550100", Some(Ok(old)), Vec::new(), &verifier());
        let days = proof
            .business_days_to_request
            .expect("counted to the recorded send");
        assert!(days > HONOURED_WITHIN_BUSINESS_DAYS, "{days}");
        let report = proof.report();
        assert!(
            report.contains("no send recorded by the first release"),
            "{report}"
        );
        assert!(
            report.contains("first recorded: sent 2026-12-07"),
            "{report}"
        );
        assert!(report.contains("LATE"), "{report}");
        assert!(!report.contains("sent by the first release"), "{report}");
        let json = serde_json::to_value(&proof).unwrap();
        assert!(json["earlierRequest"].is_string());
    }

    #[test]
    fn a_request_sent_after_ten_business_days_is_reported_late() {
        let proof = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(BODY.as_bytes()),
                BODY.as_bytes(),
                sent("2024-02-12T09:00:00.000Z"),
            ))),
            Vec::new(),
            &verifier(),
        );
        assert_eq!(proof.business_days_to_request, Some(11));
        assert!(
            proof
                .report()
                .contains("11 business day(s) after receipt (LATE")
        );
    }

    #[test]
    fn a_pending_request_has_no_business_days_yet() {
        let proof = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(BODY.as_bytes()),
                BODY.as_bytes(),
                RequestState::Pending {
                    since: "2024-01-26T12:00:01.000Z".into(),
                },
            ))),
            Vec::new(),
            &verifier(),
        );
        assert_eq!(proof.verdict, Verdict::Proven);
        assert_eq!(proof.request_state, Some("pending"));
        assert_eq!(proof.business_days_to_request, None);
        let json = serde_json::to_value(&proof).unwrap();
        assert!(json["businessDaysToRequest"].is_null());
        assert!(json["requestSentAt"].is_null());
    }

    #[test]
    fn a_legacy_v1_signature_proves_only_where_v1_is_accepted() {
        let header = sign_v1(
            &Secret::new(SECRET).unwrap(),
            1_706_270_400_000,
            BODY.as_bytes(),
        );
        let found = || {
            Some(Ok(entry(
                header.clone(),
                BODY.as_bytes(),
                sent("2024-01-26T12:00:02.000Z"),
            )))
        };
        let accepted = prove("+12025550100", found(), Vec::new(), &verifier());
        assert_eq!(accepted.verdict, Verdict::Proven);
        assert_eq!(accepted.evidence.unwrap().scheme, Some(Scheme::V1));
        let refused = prove(
            "+12025550100",
            found(),
            Vec::new(),
            &verifier().refusing_v1(),
        );
        assert_eq!(refused.verdict, Verdict::NotProven);
        assert!(
            refused
                .problem
                .unwrap()
                .contains("ACCEPT_LEGACY_V1_SIGNATURES is false")
        );
    }

    #[test]
    fn a_body_kept_in_base64_is_checked_over_its_exact_bytes() {
        let body = b"{\"eventType\":\"lead.call_key_pressed\",\"x\":\"\xff\"}";
        let proof = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(body),
                body,
                sent("2024-01-26T12:00:02.000Z"),
            ))),
            Vec::new(),
            &verifier(),
        );
        let evidence = proof.evidence.unwrap();
        assert!(evidence.body_base64.is_some());
        assert!(evidence.verified);
    }

    #[test]
    fn the_json_form_has_the_contracts_fields() {
        let proof = prove(
            "+12025550100",
            Some(Ok(entry(
                signed(BODY.as_bytes()),
                BODY.as_bytes(),
                sent("2024-01-26T12:00:02.000Z"),
            ))),
            vec![LeadFlag {
                campaign_id: "camp_1".into(),
                status: Some("dnc".into()),
                dnc: true,
                dnc_at: Some("2024-01-26T12:00:00.000Z".into()),
            }],
            &verifier(),
        );
        let json = serde_json::to_value(&proof).unwrap();
        for field in [
            "phone",
            "onRegister",
            "dncAt",
            "reason",
            "campaignId",
            "externalLeadId",
            "source",
            "signals",
            "evidence",
            "requestState",
            "requestSentAt",
            "businessDaysToRequest",
            "leads",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        for field in ["receivedAt", "signatureHeader", "verified", "scheme"] {
            assert!(json["evidence"].get(field).is_some(), "evidence.{field}");
        }
        assert_eq!(json["evidence"]["scheme"], "v2");
        assert_eq!(json["reason"], "keypress_9");
        assert_eq!(json["requestState"], "sent");
        assert_eq!(json["businessDaysToRequest"], 0);
        assert_eq!(json["leads"][0]["dnc"], true);
        assert_eq!(json["source"]["eventId"], "evt_1");
    }

    #[test]
    fn an_export_row_says_why_it_is_not_verified() {
        let row = ExportRow::of(
            "+12025550100".into(),
            Err("version: not a number".into()),
            &verifier(),
        );
        assert!(!row.verified);
        assert!(row.problem.as_deref().unwrap().contains("cannot be read"));
        let row = ExportRow::of(
            "+12025550100".into(),
            Ok(entry(
                signed(BODY.as_bytes()),
                BODY.as_bytes(),
                sent("2024-01-26T12:00:02.000Z"),
            )),
            &verifier(),
        );
        assert!(row.verified);
        assert_eq!(row.cells()[2], "keypress_9");
        assert_eq!(row.cells().len(), ExportRow::COLUMNS.len());
    }
}
