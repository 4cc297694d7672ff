#!/usr/bin/env bash
# The functions end to end on this machine, no Docker: moto on 127.0.0.1, the table (with
# its stream) and queues created there, the webhook and the relay under
# `cargo lambda watch`, a poller playing the stream's event source for the relay, every
# sample event in events/ delivered over HTTP and signed at send time; then the answers,
# the lead items and the queue messages (with their delay), checked against the contract.
#
#   bash scripts/local.sh                 # run, show, check, stop everything
#   bash scripts/local.sh --keep-running  # ... then leave it up for curl / cargo lambda invoke
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
keep_running=0
[[ "${1:-}" == "--keep-running" ]] && keep_running=1

bash scripts/venv.sh
export PATH="$root/.venv/bin:$PATH"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

echo "building the functions (the first build takes a few minutes)" >&2
cargo build --quiet --bins --example local_resources

env_file="$root/.local/function.env"
cargo run --quiet --example local_resources -- local > "$env_file"
{
  echo "WEBHOOK_SECRET=local-dev-secret-do-not-deploy"
  if (( keep_running )); then
    # Local only: lets the stored samples (signed in 2024) through `cargo lambda invoke`.
    # The deployed default stays 300 s (template.yaml).
    echo "SIGNATURE_TOLERANCE_SECONDS=315360000"
  fi
  for name in AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
    echo "$name=${!name}"
  done
} >> "$env_file"

port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
setsid cargo lambda watch -A 127.0.0.1 -P "$port" --env-file "$env_file" > .local/function.log 2>&1 &
watch_pid=$!
poller_pid=""
cleanup() {
  [[ -n "$poller_pid" ]] && kill "$poller_pid" 2>/dev/null || true
  kill -- "-$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
  stop_moto
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  if .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
    break
  fi
  kill -0 "$watch_pid" 2>/dev/null || { echo "cargo lambda watch stopped: see .local/function.log" >&2; exit 1; }
  sleep 0.2
done
webhook_url="http://127.0.0.1:$port/lambda-url/call-events-receiver/call-events"
echo "webhook listening on $webhook_url (logs: .local/function.log)" >&2
.venv/bin/python scripts/relay_poller.py --port "$port" --env-file "$env_file" > .local/relay-poller.log 2>&1 &
poller_pid=$!
echo "relay fed from the table's stream by scripts/relay_poller.py (log: .local/relay-poller.log)" >&2

status=0
.venv/bin/python scripts/local.py run --url "$webhook_url" --port "$port" --env-file "$env_file" || status=$?

if (( keep_running )); then
  cat <<MSG

Still running (Ctrl-C stops the function and moto):
  webhook   $webhook_url      logs: .local/function.log
  relay     fed by scripts/relay_poller.py          log: .local/relay-poller.log
  AWS       $AWS_ENDPOINT_URL  (moto; AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1)

  PATH=.venv/bin:\$PATH cargo lambda invoke call-events-receiver -A 127.0.0.1 -P $port --data-file events/09-call-key-pressed-9.json
  .venv/bin/python scripts/local.py sign events/07-call-scheduled.json > /tmp/signed.json   # a sample signed now
MSG
  wait "$watch_pid" || true
fi
exit "$status"
