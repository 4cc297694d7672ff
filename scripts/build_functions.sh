#!/usr/bin/env bash
# The deploy path, as `sam build` takes it (cargo lambda, release profile): builds the two
# functions' `bootstrap` files and checks each exists. For arm64, the architecture
# template.yaml names, when the aarch64-unknown-linux-gnu target is installed; otherwise
# x86_64, and it says so (the arm64 target is a toolchain download CI may not have).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/venv.sh
export PATH="$root/.venv/bin:$PATH"
arch=(); label="x86_64 (the aarch64-unknown-linux-gnu target is not installed; template.yaml deploys arm64)"
if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  arch=(--arm64); label="arm64, as template.yaml deploys"
fi
echo "building the functions for $label" >&2
cargo lambda build --release --locked "${arch[@]}" --bin call-events-receiver --bin call-events-relay
for bin in call-events-receiver call-events-relay; do
  bootstrap="target/lambda/$bin/bootstrap"
  [[ -s "$bootstrap" ]] || { echo "no $bootstrap after the build" >&2; exit 1; }
  printf '%s: %d bytes\n' "$bootstrap" "$(stat -c %s "$bootstrap")"
done
