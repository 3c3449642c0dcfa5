#!/usr/bin/env bash
# From a fresh clone to a running app with demo data on http://127.0.0.1:5000 (SQLite/SpatiaLite).
#   HOST=0.0.0.0 PORT=8000 scripts/run.sh     to serve the LAN on another port
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi seed-demo
echo "Serving on http://${HOST:-127.0.0.1}:${PORT:-5000}  (log in as demo.member / ${DEMO_PASSWORD:-demo-2025})"
exec .venv/bin/gunicorn --config gunicorn.conf.py --workers "${WORKERS:-2}" --threads 4 \
  --bind "${HOST:-127.0.0.1}:${PORT:-5000}" --access-logfile - wsgi:app
