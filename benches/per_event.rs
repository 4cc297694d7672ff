//! In-process work per event: verify the signature, parse, decide (pure rules), and
//! serialize the DynamoDB write and the queue messages, for each of the six call events
//! applied to a lead that already has some history. Target: under 20 µs per event.
//!
//! cargo bench --bench per_event

use std::hint::black_box;

use call_events::adapters::dynamodb::item::{lead_item, lead_update, stored_lead};
use call_events::core::decided::Decided;
use call_events::core::decided::hold_one_body;
use call_events::core::domain::Timestamp;
use call_events::core::lead::{Decision, Effect, LeadState, decide};
use call_events::core::messages::QueueMessage;
use call_events::core::register::{DncSignalRecord, evidence_of_request};
use call_events::core::signature::{Secret, Verifier, sign_v2};
use call_events::core::wire::{Inbound, parse_body};
use call_events::ports::{HeldForRelay, LeadWrite};
use criterion::{Criterion, criterion_group, criterion_main};

const SECRET: &str = "bench-secret-0123456789abcdef";

fn body(event_type: &str, minute: u32, data: &str) -> String {
    format!(
        r#"{{"metadata":{{"apiVersion":"2026-02-09","eventType":"{event_type}","campaignId":"abc456xyz","eventTime":"2024-01-28T12:{minute:02}:00.000Z"}},"data":{{"phone":"+12025550123","externalLeadId":"crm-1001",{data}}}}}"#
    )
}

fn samples() -> Vec<(&'static str, String)> {
    vec![
        (
            "call_initiated",
            body("lead.call_initiated", 10, r#""isScheduled":false"#),
        ),
        (
            "call_received",
            body("lead.call_received", 10, r#""x":null"#),
        ),
        (
            "call_scheduled",
            body(
                "lead.call_scheduled",
                10,
                r#""scheduledTime":"2024-01-29T14:00:00.000Z""#,
            ),
        ),
        (
            "call_ended",
            body(
                "lead.call_ended",
                10,
                r#""callType":"inbound","callResult":"no_response","isScheduled":false"#,
            ),
        ),
        (
            "call_transferred",
            body(
                "lead.call_transferred",
                10,
                r#""transferredTo":"+12025550199","callType":"inbound","isScheduled":false"#,
            ),
        ),
        (
            "call_key_pressed_9",
            body(
                "lead.call_key_pressed",
                10,
                r#""callType":"scheduled","isScheduled":true,"keypressNumber":"9""#,
            ),
        ),
    ]
}

/// A lead with a realistic history: a few calls, key presses and a transfer.
fn history() -> LeadState {
    let events = [
        body("lead.call_initiated", 0, r#""isScheduled":false"#),
        body(
            "lead.call_key_pressed",
            1,
            r#""callType":"unscheduled","keypressNumber":"5""#,
        ),
        body(
            "lead.call_ended",
            2,
            r#""callType":"unscheduled","callResult":"no_response""#,
        ),
        body("lead.call_initiated", 3, r#""isScheduled":false"#),
        body(
            "lead.call_transferred",
            4,
            r#""transferredTo":"+12025550199","callType":"outbound""#,
        ),
        body(
            "lead.call_ended",
            5,
            r#""callType":"unscheduled","callResult":"transfer""#,
        ),
    ];
    let mut state = None;
    for b in events {
        let Ok(Inbound::Call(event)) = parse_body(b.as_bytes()) else {
            unreachable!()
        };
        if let Decision::Applied(applied) = decide(state.as_ref(), &event, &event.id()) {
            state = Some(applied.state);
        }
    }
    state.unwrap()
}

/// Everything the function computes for one delivery, without I/O.
fn per_event(
    verifier: &Verifier,
    header: &str,
    body: &[u8],
    now_ms: i64,
    old: &LeadState,
) -> usize {
    verifier.verify(Some(header), body, now_ms).unwrap();
    let Ok(Inbound::Call(event)) = parse_body(body) else {
        unreachable!()
    };
    let id = event.id();
    let Decision::Applied(applied) = decide(Some(old), &event, &id) else {
        unreachable!()
    };
    // What the webhook commits: callbacks as messages, DNC signals with their evidence.
    let mut outbox = Decided::default();
    for effect in &applied.effects {
        match effect {
            Effect::Callback(c) => outbox.messages.push(QueueMessage::from(c)),
            Effect::Dnc(s) => outbox.dnc_signals.push(DncSignalRecord::new(
                s,
                evidence_of_request(Some(header), body),
            )),
        }
    }
    // The warm write: the conditional UpdateItem of a known lead, rendered as the SDK
    // sends it (the relay's outbox held apart, the item's one body placed).
    let held = HeldForRelay {
        has_outbox: true,
        ..HeldForRelay::default()
    };
    let (_, dropped) = hold_one_body(None, &mut outbox.dnc_signals);
    let write = LeadWrite {
        state: &applied.state,
        decided: &outbox,
        drops_body: dropped.as_deref(),
        held: &held,
        since: Timestamp::now(),
        expected_version: Some(6),
        // A warm instance knows the state the item holds: it sets what changed.
        previous: Some(old),
    };
    let update = lead_update(&write, 7, Timestamp::now(), "0123456789abcdef").unwrap();
    let rendered = update.render();
    rendered.update.len() + rendered.values.len() + outbox.messages.len()
}

fn bench(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let verifier = Verifier::new(vec![secret.clone()], 300);
    let old = history();
    let now_ms = 1_706_443_800_000;
    let mut group = c.benchmark_group("per_event");
    for (name, body) in samples() {
        let header = sign_v2(&secret, now_ms, body.as_bytes());
        group.bench_function(name, |b| {
            b.iter(|| {
                per_event(
                    black_box(&verifier),
                    black_box(&header),
                    black_box(body.as_bytes()),
                    now_ms,
                    black_box(&old),
                )
            })
        });
    }
    group.finish();

    // The parts, for finding where time goes.
    let (_, body) = &samples()[3];
    let header = sign_v2(&secret, now_ms, body.as_bytes());
    c.bench_function("part/verify_signature", |b| {
        b.iter(|| verifier.verify(Some(black_box(&header)), black_box(body.as_bytes()), now_ms))
    });
    c.bench_function("part/parse", |b| {
        b.iter(|| parse_body(black_box(body.as_bytes())))
    });
    let Ok(Inbound::Call(event)) = parse_body(body.as_bytes()) else {
        unreachable!()
    };
    c.bench_function("part/event_id", |b| b.iter(|| black_box(&event).id()));
    let id = event.id();
    c.bench_function("part/decide", |b| {
        b.iter(|| decide(Some(black_box(&old)), black_box(&event), &id))
    });
    c.bench_function("part/lead_item", |b| {
        b.iter(|| lead_item(black_box(&old), &Decided::default(), 7, Timestamp::now()))
    });
    // The warm write's parts: the update built, then rendered as the SDK takes it.
    let held = HeldForRelay {
        has_outbox: true,
        ..HeldForRelay::default()
    };
    let nothing = Decided::default();
    let write = LeadWrite {
        state: &old,
        decided: &nothing,
        drops_body: None,
        held: &held,
        since: Timestamp::now(),
        expected_version: Some(6),
        previous: None,
    };
    c.bench_function("part/lead_update", |b| {
        b.iter(|| lead_update(black_box(&write), 7, Timestamp::now(), "0123456789abcdef"))
    });
    let update = lead_update(&write, 7, Timestamp::now(), "0123456789abcdef").unwrap();
    c.bench_function("part/render", |b| {
        b.iter(|| black_box(update.clone()).render())
    });
    c.bench_function("part/clone_update", |b| {
        b.iter(|| black_box(update.clone()))
    });
    // Not part of the per-event figure above: reading the stored lead back, per delivery.
    let stored = lead_item(&old, &Decided::default(), 7, Timestamp::now()).unwrap();
    c.bench_function("part/stored_lead", |b| {
        b.iter(|| stored_lead(black_box(stored.clone())))
    });
}

/// What an unauthenticated request can cost: a 256 KiB body with a header of 2,400 wrong `v2`
/// and 2,400 wrong `v1` candidates, beside the sender's honest header, both with two
/// configured secrets (a rotation).
fn signature_cost(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let verifier = Verifier::new(
        vec![
            secret.clone(),
            Secret::new("whsec_second_0123456789abcdef").unwrap(),
        ],
        300,
    );
    let now_ms = 1_706_443_800_000;
    let body = vec![b'x'; 256 * 1024];
    let wrong = "0".repeat(64);
    let candidates: Vec<String> = (0..2400)
        .flat_map(|_| [format!("v2={wrong}"), format!("v1={wrong}")])
        .collect();
    let worst = format!("t={now_ms},{}", candidates.join(","));
    let honest = sign_v2(&secret, now_ms, &body);
    let mut group = c.benchmark_group("signature_256KiB_2_secrets");
    group.bench_function("honest_header", |b| {
        b.iter(|| verifier.verify(Some(black_box(&honest)), black_box(&body), now_ms))
    });
    group.bench_function("worst_case_header_4800_candidates", |b| {
        b.iter(|| verifier.verify(Some(black_box(&worst)), black_box(&body), now_ms))
    });
    group.finish();
}

/// The webhook's log line per request, which is also its EMF metrics document.
fn request_log_line(c: &mut Criterion) {
    use call_events::telemetry::{Outcome, RequestReport};
    let report = RequestReport {
        request_id: Some("8f5e3c1a-2b7d-4e9f-a1c3-5d7e9f1b3c5d".into()),
        event_type: Some("lead.call_key_pressed".into()),
        campaign_id: Some("spring-campaign".into()),
        phone: Some("********0103".into()),
        event_id: Some("evt_ac52c501ecf17ae47daef1da0934f123".into()),
        effects: vec!["dnc"],
        duration: std::time::Duration::from_micros(2500),
        ..RequestReport::new(Outcome::Processed, 200)
    };
    c.bench_function("telemetry/request_log_line", |b| {
        b.iter(|| black_box(&report).to_log_line(1_706_443_200_000))
    });
}

/// What `call-events-dnc export` does per register entry once DynamoDB has returned it:
/// decode the item, check its evidence's signature, write its JSON line.
fn export_entry(c: &mut Criterion) {
    use call_events::adapters::dynamodb::register::{register_entry, register_item};
    use call_events::core::proof::ExportRow;
    use call_events::core::register::{RegisterEntry, RequestState};

    let raw = body(
        "lead.call_key_pressed",
        10,
        r#""callType":"inbound","keypressNumber":"9""#,
    );
    let secret = Secret::new(SECRET).unwrap();
    let header = sign_v2(&secret, 1_706_443_800_000, raw.as_bytes());
    let signal = call_events::core::wire::readable_dnc_signal(raw.as_bytes(), Timestamp::now())
        .expect("a key 9 is a DNC signal");
    let entry = RegisterEntry {
        first: DncSignalRecord::new(&signal, evidence_of_request(Some(&header), raw.as_bytes())),
        signed: None,
        signals: 1,
        recent_signal_ids: [signal.source.event_id.as_str().to_owned()].into(),
        request: RequestState::Sent {
            at: "2024-01-28T12:10:01.000Z".into(),
        },
        earlier_request: None,
    };
    let item = register_item(&signal.phone, &entry, 2).unwrap();
    let verifier = Verifier::new(vec![secret], u64::MAX);
    let mut line = Vec::with_capacity(512);
    c.bench_function("export/entry", |b| {
        b.iter(|| {
            let (entry, _) = register_entry(black_box(item.clone())).unwrap();
            let row = ExportRow::of(signal.phone.as_str().to_owned(), Ok(entry), &verifier);
            assert!(row.verified);
            line.clear();
            serde_json::to_writer(&mut line, &row).unwrap();
            black_box(&line);
        })
    });
}

criterion_group!(
    benches,
    bench,
    signature_cost,
    request_log_line,
    export_entry
);
criterion_main!(benches);
