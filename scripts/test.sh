#!/usr/bin/env bash
# The whole suite: SQLite/SpatiaLite, then PostgreSQL/PostGIS with real Redis and a real rq
# worker, then the browser tests in Debian's Chromium. Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh

echo "== 1/3 SQLite + SpatiaLite (jobs in-process) =="
.venv/bin/pytest -q -m "not e2e" "$@"

echo "== 2/3 PostgreSQL + PostGIS, Redis, rq worker =="
TEST_DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/postgres \
TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
  .venv/bin/pytest -q -m "not e2e" "$@"

echo "== 3/3 Browser: the PWA in Chromium (Playwright) =="
.venv/bin/pytest -q -m e2e "$@"
