//! `call-events-dnc prove PHONE --html FILE` (docs/contract.md §8): the proof as one
//! self-contained page (no external asset, no script) that a compliance officer prints and
//! hands to counsel: the verdict; the timeline from the opt-out to the request sent, drawn
//! day by day with the business days counted against the 10-day rule; the request as
//! received, byte for byte; and how anyone holding the secret checks its signature with
//! `openssl`, with the header's own values. Pure: the page is a string.

use base64::Engine;
use chrono::{Datelike, NaiveDate, Weekday};

use crate::core::domain::Timestamp;
use crate::core::proof::{HONOURED_WITHIN_BUSINESS_DAYS, Proof, Verdict};

/// Days the timeline draws at most (a request sent later is said, not drawn).
const MOST_DAYS: i64 = 42;
const DAY_WIDTH: i64 = 22;

/// Text made safe for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn date_of(rfc3339: &str) -> Option<NaiveDate> {
    Timestamp::parse(rfc3339).ok().map(|t| {
        let (seconds, _) = t.to_unix_parts();
        chrono::DateTime::from_timestamp(seconds, 0)
            .map(|d| d.date_naive())
            .unwrap_or_default()
    })
}

/// The date of the `n`th business day after `received` (Monday to Friday, UTC).
fn nth_business_day(received: NaiveDate, n: u32) -> NaiveDate {
    received
        .iter_days()
        .skip(1)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .nth(n.saturating_sub(1) as usize)
        .unwrap_or(received)
}

/// `t` and the signature of a header `t=...,v2=...` (or `v1=`).
fn header_parts(header: &str) -> (Option<&str>, Option<(&str, &str)>) {
    let mut t = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some((scheme @ ("v2" | "v1"), value)) if signature.is_none() => {
                signature = Some((scheme, value))
            }
            _ => {}
        }
    }
    (t, signature)
}

/// The day-by-day timeline, as inline SVG: weekends shaded, business days numbered from
/// the day after receipt, the 10th marked, the opt-out, the receipt and the request's send.
fn timeline(proof: &Proof, now: Timestamp) -> String {
    let Some(evidence) = &proof.evidence else {
        if proof.recorded.is_some() {
            return "<p>No signed request is kept: nothing to draw (when the person said it \
                    and when the service recorded it are in the table above).</p>"
                .to_owned();
        }
        return "<p>No signed request is kept: nothing to draw (the list's date and the \
                import's time are in the table above).</p>"
            .to_owned();
    };
    let Some(received) = date_of(&evidence.received_at) else {
        return "<p>The receipt time cannot be read: nothing to draw.</p>".to_owned();
    };
    // The opt-out drawn is the platform's signal; a date the company's list gave (an
    // imported first signal) is only said, as the company's own record.
    let signal = match &proof.provenance {
        Some(_) => proof.signed_at.as_deref().and_then(date_of),
        None => proof.dnc_at.as_deref().and_then(date_of),
    };
    let sent = proof.request_sent_at.as_deref().and_then(date_of);
    let deadline = nth_business_day(received, HONOURED_WITHIN_BUSINESS_DAYS);
    let today = date_of(&now.to_rfc3339()).unwrap_or(received);
    // The rule's clock starts at receipt; an opt-out a few days before it is drawn too (a
    // late delivery), one long before is only said.
    let start = signal
        .filter(|s| *s < received && (received - *s).num_days() <= 7)
        .unwrap_or(received);
    let end = [Some(deadline), sent, Some(today).filter(|_| sent.is_none())]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(deadline);
    let days = (end - start).num_days().clamp(0, MOST_DAYS - 1) + 1;
    let x = |date: NaiveDate| (date - start).num_days().clamp(0, days - 1) * DAY_WIDTH;
    let width = days * DAY_WIDTH;
    // A label near the right edge ends at its mark, so it stays on the page.
    let anchor = |at: i64| if at > width * 3 / 5 { "end" } else { "start" };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="-10 0 {} 150" width="{}" style="max-width:100%;height:auto" role="img" aria-label="timeline">"#,
        width + 20,
        (width + 20) * 3 / 2
    );
    let mut business = 0u32;
    for i in 0..days {
        let day = start + chrono::Duration::days(i);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let fill = if weekend { "#e3e3e3" } else { "#ffffff" };
        let left = i * DAY_WIDTH;
        svg.push_str(&format!(
            r##"<rect x="{left}" y="40" width="{DAY_WIDTH}" height="50" fill="{fill}" stroke="#bbb" stroke-width="0.5"/>"##
        ));
        if day > received && !weekend {
            business += 1;
            svg.push_str(&format!(
                r##"<text x="{}" y="70" font-size="9" text-anchor="middle" fill="#555">{business}</text>"##,
                left + DAY_WIDTH / 2
            ));
        }
        if day.day() == 1 || i == 0 {
            svg.push_str(&format!(
                r##"<text x="{left}" y="104" font-size="8" fill="#333">{}</text>"##,
                day.format("%b %-d")
            ));
        }
    }
    // The rule's deadline: the end of the 10th business day after receipt.
    let line = x(deadline) + DAY_WIDTH;
    svg.push_str(&format!(
        r##"<line x1="{line}" y1="30" x2="{line}" y2="95" stroke="#c00" stroke-width="1.5" stroke-dasharray="4 3"/><text x="{line}" y="28" font-size="11" text-anchor="{}" fill="#c00">10th business day: {}</text>"##,
        anchor(line),
        deadline.format("%Y-%m-%d")
    ));
    // From receipt to the request's send (or to today, while pending).
    let (until, colour, label) = match (sent, proof.business_days_to_request) {
        (Some(sent), Some(n)) if n <= HONOURED_WITHIN_BUSINESS_DAYS => (
            sent,
            "#1a7f37",
            format!("request sent: {n} business day(s)"),
        ),
        (Some(sent), Some(n)) => (
            sent,
            "#c00",
            format!("request sent LATE: {n} business days"),
        ),
        (Some(sent), None) => (
            sent,
            "#555",
            "request sent again (first send unrecorded)".to_owned(),
        ),
        (None, _) => (today, "#b8860b", "request not sent yet".to_owned()),
    };
    let (from, to) = (x(received) + DAY_WIDTH / 2, x(until) + DAY_WIDTH / 2);
    svg.push_str(&format!(
        r##"<line x1="{from}" y1="82" x2="{to}" y2="82" stroke="{colour}" stroke-width="4"/><circle cx="{to}" cy="82" r="5" fill="{colour}"/><text x="{to}" y="122" font-size="11" text-anchor="{}" fill="{colour}">{}</text>"##,
        anchor(to),
        escape(&label)
    ));
    svg.push_str(&format!(
        r##"<circle cx="{from}" cy="66" r="5" fill="#0b5394"/><text x="{from}" y="140" font-size="11" text-anchor="{}" fill="#0b5394">received {}</text>"##,
        anchor(from),
        received.format("%Y-%m-%d")
    ));
    if let Some(signal) = signal.filter(|s| *s >= start) {
        let at = x(signal) + DAY_WIDTH / 2;
        svg.push_str(&format!(
            r##"<rect x="{}" y="47" width="10" height="10" fill="#6a1b9a"/><text x="{at}" y="14" font-size="11" text-anchor="{}" fill="#6a1b9a">opt-out {}</text>"##,
            at - 5,
            anchor(at),
            signal.format("%Y-%m-%d")
        ));
    }
    svg.push_str("</svg>");
    if let Some(signal) = signal.filter(|s| *s < start) {
        svg.push_str(&format!(
            "<p class=\"note\">The platform's signal is dated {}, more than a week before its \
             request reached the webhook: the 10 business days run from that receipt.</p>",
            signal.format("%Y-%m-%d")
        ));
    }
    if let (Some(p), Some(listed)) = (&proof.provenance, proof.dnc_at.as_deref().and_then(date_of))
    {
        svg.push_str(&format!(
            "<p class=\"note\">The company's list <code>{}</code> dates the opt-out {}: that \
             date is the company's own record, not drawn; what is drawn is the platform's \
             signed request.</p>",
            escape(&p.source),
            listed.format("%Y-%m-%d")
        ));
    }
    if (end - start).num_days() >= MOST_DAYS {
        svg.push_str(&format!(
            "<p class=\"note\">The drawing stops after {MOST_DAYS} days; the dates are in the table above.</p>"
        ));
    }
    svg
}

/// How anyone holding the webhook's secret checks the kept signature, with this request's
/// own values.
fn how_to_verify(proof: &Proof) -> String {
    let Some(evidence) = &proof.evidence else {
        return "<p>No signed request is kept for this phone.</p>".to_owned();
    };
    let bytes = match &evidence.body_base64 {
        Some(b64) => b64.clone(),
        None => base64::engine::general_purpose::STANDARD.encode(evidence.body.as_bytes()),
    };
    let wrapped: Vec<String> = bytes
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let (t, signature) = header_parts(&evidence.signature_header);
    // The timestamp goes into a shell line: only digits are taken as one.
    let t = t.filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let steps = match (t, signature) {
        (Some(t), Some(("v2", value))) => format!(
            "printf '%s.' '{t}' &gt; signed.bin &amp;&amp; cat body.bin &gt;&gt; signed.bin\n\
             openssl dgst -sha256 -hmac \"$WEBHOOK_SECRET\" signed.bin\n\
             # the digest printed must be the header's v2 value:\n\
             # {}",
            escape(value)
        ),
        (_, Some(("v1", value))) => format!(
            "openssl dgst -sha256 -hmac \"$WEBHOOK_SECRET\" body.bin\n\
             # the digest printed must be the header's v1 value:\n\
             # {}",
            escape(value)
        ),
        (None, Some(("v2", _))) => {
            "# the kept header's timestamp t is not a number: there is nothing to check".to_owned()
        }
        _ => "# the kept header holds no v2 or v1 signature: there is nothing to check".to_owned(),
    };
    format!(
        "<p>The platform signs each request with HMAC-SHA256 and the webhook's client secret: \
         scheme <code>v2</code> over the header's timestamp <code>t</code>, a dot, and the \
         body's exact bytes; <code>v1</code> over the body alone. With the secret in \
         <code>$WEBHOOK_SECRET</code>, in any shell:</p>\
         <pre>base64 -d &gt; body.bin &lt;&lt;'EOF'\n{}\nEOF\n{steps}</pre>",
        escape(&wrapped.join("\n"))
    )
}

/// The page.
pub fn page(proof: &Proof, now: Timestamp) -> String {
    let (banner, class) = match proof.verdict {
        Verdict::Proven => (format!("PROVEN: {}", proof.what_verifies()), "proven"),
        Verdict::NotOnRegister => ("NOT ON THE REGISTER".to_owned(), "absent"),
        Verdict::NotProven => (
            format!(
                "NOT PROVEN: {}",
                proof
                    .problem
                    .as_deref()
                    .unwrap_or("the evidence does not verify")
            ),
            "unproven",
        ),
        Verdict::Imported => (
            "IMPORTED, NOT SIGNED: from the company's own list; no platform signature stands behind it"
                .to_owned(),
            "unproven",
        ),
        Verdict::Recorded => (
            "RECORDED, NOT SIGNED: recorded by a company service; it rests on the company's own record"
                .to_owned(),
            "unproven",
        ),
    };
    let mut rows = String::new();
    let mut row = |label: &str, value: String| {
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            escape(&value)
        ));
    };
    row("Phone", proof.phone.clone());
    match (&proof.dnc_at, &proof.provenance) {
        (Some(at), Some(_)) => row(
            "Opt-out, by the company's list",
            format!("{at} (the company's own record: no signature stands behind this date)"),
        ),
        (Some(at), None) if proof.recorded.is_some() => row(
            "Opt-out, as a company service recorded it",
            format!("{at} (when the person said it, by the service's own record)"),
        ),
        (Some(at), None) => row("Opt-out (the platform's signal)", at.clone()),
        _ => {}
    }
    if let Some(reason) = proof.reason {
        row("Reason", reason.as_str().to_owned());
    }
    if let Some(kind) = proof.kind {
        row(
            "Kind of the first signal",
            match kind {
                "signed" => "signed (the platform's signed request)".to_owned(),
                "imported" => "imported (a line of the company's own list)".to_owned(),
                "api" => {
                    "api (recorded by a company service through the register's API)".to_owned()
                }
                other => other.to_owned(),
            },
        );
    }
    if let Some(source) = proof.source.as_ref().filter(|_| proof.provenance.is_none()) {
        row(
            "Source event",
            format!("{} at {}", source.event_id, source.event_time),
        );
    }
    if let Some(campaign) = &proof.campaign_id {
        row("Campaign", campaign.clone());
    }
    if let Some(r) = &proof.recorded {
        row("Recorded by", r.principal.clone());
        row("Channel", r.channel.clone());
        row("Their reference", r.reference.clone());
        row(
            "Received",
            format!(
                "{}, request {} from {}",
                r.received_at, r.request_id, r.source_ip
            ),
        );
    }
    if let Some(p) = &proof.provenance {
        row(
            "Imported from",
            format!("{}, at {}", p.source, p.imported_at),
        );
        row(
            "File and line",
            format!("SHA-256 {}, line {}", p.file_sha256, p.line),
        );
        row("The line", p.line_text.clone());
    }
    if let Some(at) = &proof.signed_at {
        row("The platform's signed signal", at.clone());
    }
    if let Some(evidence) = &proof.evidence {
        row(
            "The platform's request reached the webhook",
            evidence.received_at.clone(),
        );
        row(
            "Signature",
            match (evidence.verified, evidence.scheme) {
                (true, Some(scheme)) => {
                    format!("verifies ({}) with the webhook's secret", scheme.as_str())
                }
                _ => format!(
                    "does NOT verify{}",
                    evidence
                        .problem
                        .as_deref()
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default()
                ),
            },
        );
    }
    if let Some(state) = proof.request_state {
        row(
            "DNC request",
            match state {
                "none" => "none owed".to_owned(),
                _ => state.to_owned(),
            },
        );
    }
    if let Some(at) = &proof.request_sent_at {
        row("Request sent (taken by the queue)", at.clone());
    }
    if let Some(earlier) = &proof.earlier_request {
        row("Earlier release", earlier.clone());
    }
    match (proof.business_days_to_request, &proof.earlier_request) {
        (Some(days), _) => row(
            "Business days to the request",
            format!(
                "{days} (the rule: within {HONOURED_WITHIN_BUSINESS_DAYS}){}",
                if days > HONOURED_WITHIN_BUSINESS_DAYS {
                    ": LATE"
                } else {
                    ""
                }
            ),
        ),
        (None, Some(_)) => row(
            "Business days to the request",
            "not counted: no send recorded yet".to_owned(),
        ),
        (None, None) => {}
    }
    if let Some(signals) = proof.signals {
        row("DNC signals seen", signals.to_string());
    }
    for lead in &proof.leads {
        row(
            "Lead",
            format!(
                "campaign {}, status {}, dnc {}",
                lead.campaign_id,
                lead.status.as_deref().unwrap_or("-"),
                if lead.dnc { "yes" } else { "no" }
            ),
        );
    }
    let request = match &proof.evidence {
        Some(evidence) => format!(
            "<p>Signature header: <code>{}</code></p><pre class=\"body\">{}</pre>{}",
            escape(&evidence.signature_header),
            escape(&evidence.body),
            if evidence.body_base64.is_some() {
                "<p class=\"note\">The body's bytes are not all text: above is a rendering; the \
                 exact bytes are in the verification below.</p>"
            } else {
                ""
            }
        ),
        None => match &proof.provenance {
            Some(p) => format!(
                "<p>No signed request is kept: the phone came from the company's own list \
                 <code>{}</code>, line {} of the file whose SHA-256 is <code>{}</code>:</p>\
                 <pre class=\"body\">{}</pre><p class=\"note\">An import shows what the list \
                 held and when it was imported; it is not the person's request.</p>",
                escape(&p.source),
                p.line,
                escape(&p.file_sha256),
                escape(&p.line_text)
            ),
            None => match &proof.recorded {
                Some(r) => format!(
                    "<p>No signed request is kept: a company service recorded the opt-out \
                     through the register's API, as <code>{}</code>. The request it sent:</p>\
                     <pre class=\"body\">{}</pre><p class=\"note\">A record of this kind \
                     shows who recorded what and when; it rests on the company's own record, \
                     not on the person's signed request.</p>",
                    escape(&r.principal),
                    escape(&r.body)
                ),
                None => "<p>No signed request is kept.</p>".to_owned(),
            },
        },
    };
    let business = match (proof.business_days_to_request, &proof.evidence) {
        (Some(days), Some(_)) => format!(
            "{days} business day(s) from the platform's request's receipt to the DNC request's \
             send; the rule allows {HONOURED_WITHIN_BUSINESS_DAYS}."
        ),
        (Some(days), None) => format!(
            "{days} business day(s) from the import to the DNC request's send; the rule allows \
             {HONOURED_WITHIN_BUSINESS_DAYS}."
        ),
        (None, _) => format!(
            "No business days are counted: {}.",
            escape(proof.no_days_counted().unwrap_or("nothing was sent"))
        ),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Proof of opt-out: {phone}</title>
<style>
body {{ font-family: Georgia, 'Times New Roman', serif; color: #111; margin: 2em auto; max-width: 52em; }}
h1 {{ font-size: 1.5em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.1em; border-bottom: 1px solid #999; margin-top: 1.6em; }}
.banner {{ font: bold 1.2em sans-serif; padding: 0.5em 0.8em; border: 2px solid; }}
.proven {{ color: #1a7f37; }} .absent {{ color: #555; }} .unproven {{ color: #c00; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; }}
th {{ width: 16em; font-weight: normal; color: #444; }}
pre {{ font-size: 0.8em; white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: 0.6em; }}
code {{ font-size: 0.9em; word-break: break-all; }}
.note {{ font-size: 0.85em; color: #555; }}
@media print {{ body {{ margin: 0; max-width: none; }} pre {{ background: none; border: 1px solid #ccc; }} }}
</style></head>
<body>
<h1>Proof of opt-out: {phone}</h1>
<p class="note">From the company's do-not-call register, generated {generated} by call-events-dnc prove.</p>
<p class="banner {class}">{banner}</p>
<table>{rows}</table>
<h2>Timeline</h2>
<p>{business}</p>
{timeline}
<h2>The request as received</h2>
{request}
<h2>How to verify the signature independently</h2>
{verify}
</body></html>
"#,
        phone = escape(&proof.phone),
        generated = escape(&now.to_rfc3339()),
        banner = escape(&banner),
        timeline = timeline(proof, now),
        verify = how_to_verify(proof),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::proof::business_days;

    #[test]
    fn the_tenth_business_day_skips_weekends() {
        // Friday 2024-01-26: the 10th business day after is Friday 2024-02-09.
        let friday = NaiveDate::from_ymd_opt(2024, 1, 26).unwrap();
        let tenth = nth_business_day(friday, 10);
        assert_eq!(tenth, NaiveDate::from_ymd_opt(2024, 2, 9).unwrap());
        assert_eq!(business_days(friday, tenth), 10);
    }

    #[test]
    fn the_header_gives_its_timestamp_and_signature() {
        assert_eq!(
            header_parts("t=1706443200000,v2=abc"),
            (Some("1706443200000"), Some(("v2", "abc")))
        );
        assert_eq!(header_parts("t=1,v1=def"), (Some("1"), Some(("v1", "def"))));
        assert_eq!(header_parts("junk"), (None, None));
    }

    fn proof(verdict: Verdict) -> Proof {
        Proof {
            phone: "+12025550100".into(),
            verdict,
            problem: None,
            on_register: verdict != Verdict::NotOnRegister,
            dnc_at: None,
            reason: None,
            campaign_id: None,
            external_lead_id: None,
            source: None,
            signals: None,
            kind: None,
            provenance: None,
            recorded: None,
            evidence: None,
            signed_at: None,
            request_state: None,
            request_sent_at: None,
            request_refused: None,
            business_days_to_request: None,
            earlier_request: None,
            leads: Vec::new(),
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2024-02-20T12:00:00Z").unwrap()
    }

    #[test]
    fn a_phone_not_on_the_register_says_so_and_draws_nothing() {
        let page = page(&proof(Verdict::NotOnRegister), now());
        assert!(page.contains("NOT ON THE REGISTER"));
        assert!(page.contains("No signed request is kept"));
        assert!(!page.contains("<svg"));
    }

    #[test]
    fn a_late_request_is_drawn_red_and_said_late_and_a_body_cannot_break_the_page() {
        use crate::core::proof::EvidenceCheck;
        let mut late = proof(Verdict::NotProven);
        late.problem = Some("the signature <b>does not</b> verify".into());
        late.dnc_at = Some("2024-01-26T12:00:00.000Z".into());
        late.evidence = Some(EvidenceCheck {
            received_at: "2024-01-26T12:00:01.000Z".into(),
            signature_header: "t=1706270401000,v2=abc".into(),
            verified: false,
            scheme: None,
            problem: Some("no secret matches".into()),
            body: "</pre><script>alert(1)</script>".into(),
            body_base64: None,
        });
        late.request_state = Some("sent");
        late.request_sent_at = Some("2024-02-14T09:00:00.000Z".into());
        late.business_days_to_request = Some(13);
        let page = page(&late, now());
        assert!(page.contains("request sent LATE: 13 business days"));
        assert!(page.contains("13 (the rule: within 10): LATE"));
        assert!(page.contains("10th business day: 2024-02-09"));
        assert!(
            !page.contains("<script>") && !page.contains("<b>"),
            "escaped"
        );
        assert!(page.contains("printf '%s.' '1706270401000'"));
    }

    #[test]
    fn an_imported_entry_shows_its_provenance_and_says_no_signature_stands_behind_it() {
        use crate::core::register::{ImportedKind, Provenance};
        let mut imported = proof(Verdict::Imported);
        imported.kind = Some("imported");
        imported.provenance = Some(Provenance {
            kind: ImportedKind::Imported,
            source: "crm <export>".into(),
            file_sha256: "ab".repeat(32),
            line: 17,
            line_text: "+12025550100,2024-01-02,</pre><script>x</script>".into(),
            imported_at: "2026-12-06T10:00:00.000Z".into(),
        });
        let page = page(&imported, now());
        assert!(page.contains("IMPORTED, NOT SIGNED"));
        assert!(page.contains("no platform signature stands behind it"));
        assert!(page.contains("line 17 of the file whose SHA-256"));
        assert!(page.contains(&"ab".repeat(32)));
        assert!(page.contains("crm &lt;export&gt;"));
        assert!(!page.contains("<script>"), "escaped");
        assert!(page.contains("No signed request is kept: nothing to draw"));
    }

    #[test]
    fn a_pending_request_is_drawn_up_to_today() {
        use crate::core::proof::EvidenceCheck;
        let mut pending = proof(Verdict::Proven);
        pending.evidence = Some(EvidenceCheck {
            received_at: "2024-02-16T12:00:01.000Z".into(),
            signature_header: "t=1,v1=def".into(),
            verified: true,
            scheme: None,
            problem: None,
            body: "{}".into(),
            body_base64: Some("e30=".into()),
        });
        pending.request_state = Some("pending");
        let page = page(&pending, now());
        assert!(page.contains("request not sent yet"));
        assert!(page.contains("the header's v1 value"));
        assert!(page.contains("e30="));
    }

    #[test]
    fn what_the_request_said_is_escaped() {
        assert_eq!(escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn a_header_timestamp_that_is_not_a_number_never_reaches_the_html_or_the_shell_line() {
        use crate::core::proof::EvidenceCheck;
        let mut hostile = proof(Verdict::NotProven);
        hostile.evidence = Some(EvidenceCheck {
            received_at: "2024-01-26T12:00:01.000Z".into(),
            signature_header: "t=1'; rm -rf ~; echo '<i>x</i>,v2=abc".into(),
            verified: false,
            scheme: None,
            problem: None,
            body: "{}".into(),
            body_base64: None,
        });
        let page = page(&hostile, now());
        assert!(!page.contains("printf"), "no shell line with it");
        assert!(page.contains("timestamp t is not a number"));
        assert!(!page.contains("<i>"), "escaped where it is shown");
    }
}
