#!/usr/bin/env bash
# ruff over the whole tree, then the whole suite on SQLite and PostgreSQL (TEST_DATABASE_URL).
# A lint finding fails the run before any test; under CI=true an unreachable PostgreSQL fails the
# run instead of skipping its half.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
"$BIN/ruff" check .
exec "$BIN/python" -m pytest "$@"
