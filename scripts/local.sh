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
# A job started in the background by a non-interactive shell inherits SIGINT ignored, and
# bash can neither trap nor reset a signal ignored at its start: Ctrl-C or SIGINT to the
# process group then stopped moto (Python restores SIGINT) and left the rest up. So start
# again, once, with SIGINT and SIGTERM at their default actions, whatever the caller did.
if [[ -z "${LOCAL_SH_SIGNALS_RESET:-}" ]]; then
  export LOCAL_SH_SIGNALS_RESET=1
  exec python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)
os.execvp("bash", ["bash", *sys.argv[1:]])' "${BASH_SOURCE[0]}" "$@"
fi
unset LOCAL_SH_SIGNALS_RESET
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
keep_running=0
[[ "${1:-}" == "--keep-running" ]] && keep_running=1

bash scripts/venv.sh
export PATH="$root/.venv/bin:$PATH"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

# The functions exactly as `cargo lambda watch` runs them (`cargo run --manifest-path
# Cargo.toml --bin <name>`), so it compiles nothing. `--bins` is what the receiver's and the
# relay's `--bin` resolve to; the example consumer's `--bin` resolves a few crates' features
# (aws_lambda_events, serde_with) apart, hence its own line (about 10 s; `-p` would resolve
# the consumer's crate alone and compile most of the tree again). Building the example in
# the same command would unify its dev-dependency features into the functions.
if [[ -x target/debug/call-events-receiver ]]; then
  echo "building the functions" >&2
else
  echo "building the functions (the first build compiles about 270 crates: a few minutes)" >&2
fi
cargo build --bins
cargo build --bin call-events-example-consumer
echo "running the resource set-up (crates/local-aws/src/bin/local-resources.rs: the library the functions use, built once)" >&2
cargo build -p call-events-local --bin local-resources
env_file="$root/.local/function.env"
cargo run --quiet -p call-events-local --bin local-resources -- local > "$env_file"
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
# What scripts/trigger.py needs to reach this stack.
{ cat "$env_file"; echo "WEBHOOK_URL=$webhook_url"; echo "LAMBDA_PORT=$port"; echo "LOCAL_SH_PID=$$"; } > .local/session.env
.venv/bin/python scripts/relay_poller.py --port "$port" --env-file "$env_file" > .local/relay-poller.log 2>&1 &
poller_pid=$!
echo "relay fed from the table's stream by scripts/relay_poller.py (log: .local/relay-poller.log)" >&2

status=0
keep=()
(( keep_running )) && keep=(--keep-messages)
.venv/bin/python scripts/local.py run --url "$webhook_url" --port "$port" --env-file "$env_file" "${keep[@]}" || status=$?
# Every event type once more through the trigger command, checked.
.venv/bin/python scripts/local.py triggers || status=$?
# Looking never moves a message: one phone six times, then the dump.
.venv/bin/python scripts/local.py looks || status=$?
# The deployed stack's smoke test, run here against the local stack.
.venv/bin/python scripts/smoke.py --env-file "$env_file" --url "$webhook_url" --relay-port "$port" || status=$?
# The example consumer under `cargo lambda invoke`, on its sample SQS batches: each acted on
# (see its log lines in .local/function.log), then again, skipped by message id.
for batch in callback-batch dnc-batch callback-batch; do
  answer="$(cargo lambda invoke call-events-example-consumer -A 127.0.0.1 -P "$port" \
    --data-file "crates/example-consumer/events/$batch.json" 2>&1)" || { echo "$answer" >&2; status=1; continue; }
  echo "example consumer, $batch.json: $answer"
  [[ "$answer" == '{"batchItemFailures":[]}' ]] || { echo "  expected no failed message" >&2; status=1; }
done
grep -h 'message handled' .local/function.log | sed -E 's/Lambda runtime invoke\{[^}]*\}: //; s/^ */  /' | tail -3 || true
if (( status == 0 )); then
  echo "local checks: all passed"
else
  echo "local checks: FAILED (exit $status; see above)"
fi

if (( keep_running )); then
  # A raw body to edit and send (the sample's body, without its API Gateway event).
  .venv/bin/python -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["body"])' \
    events/02-call-received.json > .local/my-body.json
  cat <<MSG

Still running (pid $$): Ctrl-C here, SIGINT to its process group, or \`kill $$\` from
elsewhere (also when it runs in the background) stops the functions, the poller and moto.
The messages of the run above are still on the queues.
  webhook   $webhook_url      logs: .local/function.log
  relay     fed by scripts/relay_poller.py          log: .local/relay-poller.log
  AWS       $AWS_ENDPOINT_URL  (moto; AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1)

Trigger an event (made fresh, signed now, posted; then the answer, item, register, messages):
  .venv/bin/python scripts/trigger.py lead.call_key_pressed --key 9 --phone +12025550199 --campaign spring-campaign
  .venv/bin/python scripts/trigger.py lead.call_scheduled --phone +12025550199 --campaign autumn-campaign
  .venv/bin/python scripts/trigger.py dnc.created --legacy
  .venv/bin/python scripts/trigger.py --body .local/my-body.json --fresh  # edit it: any raw body, its eventTime now (a fresh event), signed
  .venv/bin/python scripts/trigger.py --body events/09-call-key-pressed-9.json  # a sample's body
Look at the state:
  .venv/bin/python scripts/trigger.py --show +12025550103            # lead items, register entry, messages
  .venv/bin/python scripts/local.py dump                             # every table item and queue message
Invoke with an API Gateway event (the run sent this sample already, so it is answered duplicate: an id comes from what an event says):
  PATH="$root/.venv/bin:\$PATH" cargo lambda invoke call-events-receiver -A 127.0.0.1 -P $port --data-file events/09-call-key-pressed-9.json
Replay the quarantine queue through the current code (a debug build, this stack's environment):
  (set -a; . .local/session.env; set +a; cargo run --bin call-events-replay -- --dry-run)
Prove an opt-out; export the register with each entry's verdict (a debug build, this stack's environment):
  (set -a; . .local/session.env; set +a; cargo run --bin call-events-dnc -- prove +12025550103)
  (set -a; . .local/session.env; set +a; cargo run --bin call-events-dnc -- export --out .local/register.jsonl)
Invoke the example consumer with an SQS batch (its log lines go to .local/function.log):
  PATH="$root/.venv/bin:\$PATH" cargo lambda invoke call-events-example-consumer -A 127.0.0.1 -P $port --data-file crates/example-consumer/events/callback-batch.json
MSG
  wait "$watch_pid" || true
fi
exit "$status"
