//! What the operator-command benchmarks share: a child process run to its end, its peak
//! memory read from /proc while it runs.

use std::process::Command;

/// The child's peak RSS (VmHWM) in KiB, read while it runs.
pub fn run_measured(mut command: Command) -> (std::process::Output, u64) {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let status_path = format!("/proc/{}/status", child.id());
    let (done, peak) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut peak = 0u64;
            while let Ok(status) = std::fs::read_to_string(&status_path) {
                if let Some(kib) = status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
                {
                    peak = peak.max(kib);
                }
                if status.contains("State:\tZ") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak
        });
        let done = child.wait_with_output().expect("the binary ends");
        (done, watcher.join().unwrap_or(0))
    });
    (done, peak)
}
