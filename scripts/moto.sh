#!/usr/bin/env bash
# Sourced by the other scripts: starts moto in server mode on a free 127.0.0.1 port,
# exports the AWS environment that points the SDK at it, and stops it on exit.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
moto_port="$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$root/.local"
# moto_server, with DynamoDB's conditional writes atomic as on AWS (scripts/moto_server.py).
"$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$moto_port" > "$root/.local/moto.log" 2>&1 &
moto_pid=$!
stop_moto() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 1 100); do
  if "$root/.venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/')" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto failed to start: see .local/moto.log" >&2; exit 1; }
  sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "moto listening on $AWS_ENDPOINT_URL" >&2
