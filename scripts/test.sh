#!/usr/bin/env bash
# The whole test suite: unit and property tests, and integration tests against a real
# local AWS (moto in server mode, started here on a free 127.0.0.1 port and stopped after).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
cargo test --locked --all-targets "$@"
