//! The webhook's memory while the relay is down: LEADS leads (default 10,000), each
//! sending one key 9 whose signed body is padded to BODY bytes (default 200 KiB), received
//! by one warm instance as the function receives them (`CallEventRecorder::receive`: the
//! body parsed, the lead decided, its write built). Nothing is confirmed (the relay is
//! down), so every write keeps its entry and its evidence body in the item; the instance
//! keeps only what its next write needs (the lead cache: states and versions, no message
//! or body). Prints the peak RSS (`VmHWM`), which the issue wants under 64 MB in a 128 MB
//! function.
//!
//! The table is a stand-in that takes each write and keeps nothing (the function never
//! holds the table; DynamoDB does): what is measured is the function's own memory.
//!
//!   cargo run --release --example cache_bench -- [LEADS] [BODY]

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use call_events::core::messages::QuarantineRecord;
use call_events::core::register::DncSignalRecord;
use call_events::core::signature::{Secret, sign_v2};
use call_events::ports::{BackendError, Inbox, LeadStore, LeadWrite, SaveError};
use call_events::usecases::record::{CallEventRecorder, Receipt, Recorded};

/// DynamoDB as the webhook sees it: each write taken, the next version answered.
#[derive(Default)]
struct Table {
    writes: AtomicUsize,
    bytes: AtomicUsize,
}

impl LeadStore for &Table {
    async fn save(&self, write: LeadWrite<'_>) -> Result<u64, SaveError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let body: usize = write
            .decided
            .dnc_signals
            .iter()
            .filter_map(|s| s.evidence.signed())
            .map(|e| e.body.len())
            .sum();
        self.bytes.fetch_add(body, Ordering::Relaxed);
        Ok(write.expected_version.map_or(1, |v| v + 1))
    }
}

impl Inbox for &Table {
    async fn keep_quarantined(&self, _record: &QuarantineRecord) -> Result<(), BackendError> {
        Err(BackendError::new("bench", "nothing is quarantined here"))
    }

    async fn keep_signal(&self, _record: &DncSignalRecord) -> Result<bool, BackendError> {
        Err(BackendError::new("bench", "no legacy signal here"))
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn key_9(i: usize, size: usize) -> Vec<u8> {
    let phone = format!("+1404{:07}", 1_000_000 + i);
    let head = r#"{"metadata":{"apiVersion":"2026-02-09","eventType":"lead.call_key_pressed","campaignId":"wave","eventTime":"2024-01-28T12:10:00.000Z","pad":""#;
    let tail =
        format!(r#""}},"data":{{"phone":"{phone}","callType":"inbound","keypressNumber":"9"}}}}"#);
    let mut body = head.as_bytes().to_vec();
    body.resize(size.saturating_sub(tail.len()).max(body.len()), b'x');
    body.extend_from_slice(tail.as_bytes());
    body
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let leads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let size: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(200 * 1024);
    let table = Table::default();
    let webhook = CallEventRecorder::new(&table);
    let secret = Secret::new("bench-secret-0123456789abcdef").expect("long enough");
    let before = peak_rss_kib().unwrap_or_default();
    for i in 0..leads {
        let body = key_9(i, size);
        let header = sign_v2(&secret, 1_706_443_800_000, &body);
        let (_, receipt) = webhook.receive(&body, Some(&header)).await;
        if !matches!(receipt, Ok(Receipt::Recorded(Recorded::Processed { .. }))) {
            eprintln!("lead {i}: {receipt:?}");
            return ExitCode::FAILURE;
        }
    }
    let peak = peak_rss_kib().unwrap_or_default();
    println!(
        "{leads} leads, one key 9 each with a {size}-byte body, relay down: {} writes, {:.1} MiB of \
         evidence bodies written; peak RSS {:.1} MiB (at start {:.1} MiB)",
        table.writes.load(Ordering::Relaxed),
        table.bytes.load(Ordering::Relaxed) as f64 / 1_048_576.0,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    ExitCode::SUCCESS
}
