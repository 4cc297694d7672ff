#!/usr/bin/env bash
# Creates ./.venv with the pinned Python tools (moto, cargo-lambda, SAM CLI, cfn-lint),
# unless it is already up to date. Source-able or runnable.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements-dev.txt"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$root/requirements-dev.txt" "$stamp"; then
  echo "installing Python tools into .venv (first run takes a minute)" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
  cp "$root/requirements-dev.txt" "$stamp"
fi
