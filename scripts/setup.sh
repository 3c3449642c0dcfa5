#!/usr/bin/env bash
# Install what the project needs on a Debian machine and build .venv.
# Idempotent: every step checks first, so re-running costs seconds.
#   scripts/setup.sh            runtime needs (SpatiaLite, Python venv)
#   scripts/setup.sh --test     plus PostgreSQL/PostGIS, Redis, Chromium for the suite
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=(libsqlite3-mod-spatialite)
[ "$(python3 -c 'import venv, ensurepip' 2>/dev/null && echo ok)" = ok ] || pkgs+=(python3-venv)
if [ "$want_test" = 1 ]; then
  pkgs+=(postgresql postgresql-15-postgis-3 redis-server chromium nodejs)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when the requirement files changed since the last successful install.
reqs=requirements.txt
[ "$want_test" = 1 ] && reqs=requirements-test.txt
stamp=.venv/.requirements.sha256
sum=$(cat requirements.txt "$reqs" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$reqs"
  echo "$sum" > "$stamp"
fi
