#!/usr/bin/env bash
# The whole suite: SQLite/SpatiaLite and PostgreSQL/PostGIS (with real Redis and a real rq worker)
# side by side — they share nothing, and the machine's two cores halve the wall time — then the
# browser tests in Debian's Chromium. Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh

log=$(mktemp -t cnscd-sqlite-XXXX.log)
echo "== 1/3 SQLite + SpatiaLite (jobs in-process), in the background: $log =="
.venv/bin/pytest -q -p no:cacheprovider -m "not e2e and not faults" "$@" >"$log" 2>&1 &
sqlite_pid=$!

echo "== 2/3 PostgreSQL + PostGIS, Redis, rq worker =="
pg_status=0
TEST_DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/postgres \
TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
  .venv/bin/pytest -q -m "not e2e and not faults" "$@" || pg_status=$?

sqlite_status=0
wait "$sqlite_pid" || sqlite_status=$?
echo "== 1/3 SQLite + SpatiaLite: output =="
cat "$log"
if [ "$sqlite_status" -ne 0 ] || [ "$pg_status" -ne 0 ]; then
  echo "FAILED: SQLite phase exit $sqlite_status, PostgreSQL phase exit $pg_status" >&2
  exit 1
fi

echo "== 3/3 Browser: the PWA in Chromium (Playwright) =="
.venv/bin/pytest -q -m e2e "$@"

echo "== Faults: crashes and restarts on a private PostgreSQL, Redis, gunicorn and rq worker =="
.venv/bin/pytest -q -m faults tests/faults "$@"
