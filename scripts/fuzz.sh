#!/usr/bin/env bash
# Fuzzes each target with libFuzzer (cargo fuzz, nightly toolchain) for a number of runs,
# seeded from fuzz/seeds/<target>, and prints one line per target: runs, crashes.
#
#   bash scripts/fuzz.sh [RUNS]      # default 200000 runs per target (the BENCHMARKS.md figures)
#   bash scripts/fuzz.sh --smoke     # 2000 runs per target, no sanitizer: what CI runs
#
# A crash stops the script (non-zero exit) and leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
runs="${1:-200000}"
profile=(--release)
if [[ "$runs" == "--smoke" ]]; then
  # A smoke: few runs, so an unoptimised build (quicker to compile) will do, and without
  # AddressSanitizer (the targets are safe Rust; a full run keeps it): it made every run
  # about three times slower (webhook_body: 46 s, 15 s without).
  runs=2000
  profile=(--dev -s none --target-dir "$root/target/fuzz-smoke")
  # Short inputs: a smoke checks the targets run, and a debug build's HMAC over 64 KiB
  # bodies is what makes a smoke slow (webhook_body: 48 s at 65536).
  max_len=4096
fi
targets=(signature_header body_parser apigw_request stored_item queue_message sqs_batch webhook_body redrive_pages)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is not installed (rustup toolchain install nightly); not fuzzing" >&2
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (about 30 s)" >&2
  cargo install cargo-fuzz --locked --quiet
fi

echo "fuzz: building the targets (the first build takes a few minutes)" >&2
cargo +nightly fuzz build "${profile[@]}" >/dev/null 2>&1 || cargo +nightly fuzz build "${profile[@]}"
for target in "${targets[@]}"; do
  corpus="$root/.local/fuzz-corpus/$target"
  mkdir -p "$corpus"
  log="$root/.local/fuzz-$target.log"
  started=$(date +%s)
  if ! cargo +nightly fuzz run "${profile[@]}" "$target" "$corpus" "seeds/$target" -- \
      -runs="$runs" -max_len="${max_len:-65536}" -timeout=10 >"$log" 2>&1; then
    echo "fuzz: $target FAILED: see $log and fuzz/artifacts/$target/" >&2
    tail -30 "$log" >&2
    exit 1
  fi
  done_runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
  echo "fuzz: $target: $done_runs runs, 0 crashes, $(( $(date +%s) - started )) s"
done
