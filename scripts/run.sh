#!/usr/bin/env bash
# Migrate, seed, then run gunicorn and the scheduler together; Ctrl-C (or SIGTERM) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export FLASK_APP=wsgi
export PORT="${PORT:-8000}"
export SEED="${SEED:-demo}"

"$BIN/flask" db upgrade
"$BIN/flask" seed --data "$SEED"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

"$BIN/gunicorn" -c gunicorn.conf.py wsgi:app &
pids+=($!)
# The scheduler is its own process (never inside gunicorn workers): statistics, reminders, purges.
"$BIN/flask" scheduler run &
pids+=($!)
echo "serving http://${HOST:-127.0.0.1}:${PORT}  (Swagger UI: /api/docs); scheduler running"
# Returns as soon as either process exits; the trap then stops the other.
wait -n
