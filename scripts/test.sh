#!/usr/bin/env bash
# The whole suite on SQLite and PostgreSQL (TEST_DATABASE_URL). Under CI=true an unreachable
# PostgreSQL fails the run instead of skipping its half.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
exec "$BIN/python" -m pytest "$@"
