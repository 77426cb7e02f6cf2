#!/usr/bin/env bash
# Stop every process the stack recorded in $STATE_DIR/pids.json (data stays in $STATE_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python -m devstack down --state-dir "${STATE_DIR:-.state/local}"
