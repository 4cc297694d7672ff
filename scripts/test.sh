#!/usr/bin/env bash
# The whole test suite: unit and property tests, and integration tests against a real
# local AWS (moto in server mode, started here on a free 127.0.0.1 port and stopped after).
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
# One test renders the proof page in headless Chromium: installed here when it can be (root
# on Debian); without it that test fails with one line saying how to get it.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium" >&2
fi
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
log="$root/.local/test.log"
# Tests only: the library's, the binaries', and tests/ (benchmarks have their own command,
# scripts/bench.sh; CI's clippy still compiles them).
cargo test --locked --workspace --no-fail-fast --lib --bins --tests "$@" 2>&1 | tee "$log"
# One closing line over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
