#!/usr/bin/env bash
# Bring up the production-like stack on 127.0.0.1 (no Docker): PostgreSQL, S3 (SeaweedFS),
# MLflow server (Postgres store, S3 artifacts), Prefect server + work pool + deployments + worker.
# Safe to run twice: a healthy running stack is reused. Writes $STATE_DIR/stack.env (mode 0600).
set -euo pipefail
cd "$(dirname "$0")/../.."
./run install  # the locked environment in .venv (quick when present)
exec .venv/bin/python -m devstack up --state-dir "${STATE_DIR:-.state/local}" "$@"
