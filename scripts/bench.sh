#!/usr/bin/env bash
# The project's benchmarks, one command. Reproduces every figure in BENCHMARKS.md:
#   1. per-event CPU (criterion)            cargo bench --bench per_event
#   2. end to end against moto: the floor, AWS calls per delivery (warm and cold instances),
#      the relay's delay, the cache's hit rate over 1/4/16 instances, and cost
#   3. release binary sizes                  cargo lambda build --release (x86_64)
#   4. init time and peak RSS of that binary (scripts/bench_init.py)
#   5. call-events-dnc export over a register on moto (examples/export_bench.rs)
#   6. the sweep after an SQS outage: 5,000 pending requests, with AWS's latency in memory, then
#      on moto (examples/sweep_bench.rs)
#   7. call-events-dnc scrub of 100,000 rows on moto, beside one GetItem per phone
#      (examples/scrub_bench.rs)
#   8. call-events-dnc import of 100,000 lines on moto, beside one PutItem per phone
#      (examples/import_bench.rs)
#   9. the older promises with the relay running: AWS calls per delivery counted at a proxy
#      in front of moto (tests/aws_older_promises.rs), 100,000 requests an import owes
#      swept with AWS's latency in memory (examples/sweep_bench.rs --imported), and the
#      webhook's peak RSS after 10,000 leads with a 200 KiB opt-out each, relay down
#      (examples/cache_bench.rs)
#  10. the register's API: GET /v1/opt-outs/{phone} and a check of 100 through the function's
#      handler on moto, beside a bare GetItem / BatchGetItem; the handler's own work in memory
#      (examples/ask_bench.rs)
# E2E_LEADS (default 400) sets the size of the e2e workload.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
export PATH="$root/.venv/bin:$PATH"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

echo "== 1. per-event CPU (criterion, median of the estimate) =="
cargo bench --locked --bench per_event -- --noplot 2>&1 \
  | awk '/^[A-Za-z_0-9]+\/[A-Za-z_0-9]+$/ { name = $1 } /time:/ { if ($1 != "time:") name = $1; print name, $(NF-3), $(NF-2) }'

echo
echo "== 2. end to end against moto =="
cargo bench --locked --bench e2e

echo
echo "== 3. release binaries (cargo lambda build --release, x86_64, stripped) =="
cargo lambda build --release -p call-events-receiver --quiet 2>/dev/null || cargo lambda build --release -p call-events-receiver
binary="target/lambda/call-events-receiver/bootstrap"
ls -l "$binary" target/lambda/call-events-relay/bootstrap | awk '{ printf "%s: %d bytes (%.2f MiB)\n", $NF, $5, $5 / 1048576 }'

echo
echo "== 4. cold start and peak RSS of the release binary =="
cargo run --quiet -p call-events-local --bin local-resources -- "init$$" > .local/bench.env
.venv/bin/python scripts/bench_init.py --binary "$binary" --env-file .local/bench.env

echo
echo "== 5. call-events-dnc export on moto (EXPORT_ENTRIES, default 5000) =="
cargo build --locked --release --quiet --bin call-events-dnc --example export_bench
cargo run --locked --release --quiet --example export_bench -- "${EXPORT_ENTRIES:-5000}"

echo
echo "== 6. the sweep after an SQS outage (SWEEP_ENTRIES, default 5000): with AWS's latency, then on moto =="
cargo run --locked --release --quiet --example sweep_bench -- "${SWEEP_ENTRIES:-5000}" --latency
cargo run --locked --release --quiet --example sweep_bench -- "${SWEEP_ENTRIES:-5000}" || true

echo
echo "== 7. call-events-dnc scrub on moto (SCRUB_ROWS, default 100000), beside a GetItem per phone =="
cargo build --locked --release --quiet --bin call-events-dnc --example scrub_bench
cargo run --locked --release --quiet --example scrub_bench -- "${SCRUB_ROWS:-100000}" 2000

echo
echo "== 8. call-events-dnc import on moto (IMPORT_LINES, default 100000), beside a PutItem per phone =="
cargo build --locked --release --quiet --bin call-events-dnc --example import_bench
cargo run --locked --release --quiet --example import_bench -- "${IMPORT_LINES:-100000}" 2000

echo
echo "== 9. the older promises: calls per delivery with the relay running, an import's pace, the webhook's memory =="
cargo test --locked --quiet --test aws_older_promises -- --nocapture --test-threads 1 2>&1 | grep "calls per delivery"
cargo run --locked --release --quiet --example sweep_bench -- "${IMPORTED_ENTRIES:-100000}" --latency --imported | tail -2
cargo run --locked --release --quiet --example cache_bench -- "${CACHE_LEADS:-10000}" 204800

echo
echo "== 10. the register's API on moto (ASK_ROUNDS, default 1000): a lookup and a check of 100 beside the bare read =="
cargo run --locked --release --quiet --example ask_bench -- "${ASK_ROUNDS:-1000}"
