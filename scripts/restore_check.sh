#!/usr/bin/env bash
# Prove a backup restores: check the dump's SHA-256, restore it into a scratch database, compare
# every table's row count with the counts scripts/backup.sh recorded at dump time, drop the
# scratch database. Exit 0 and "restore check: OK" only when all of that holds.
#   DATABASE_URL=postgresql://postgres@127.0.0.1/postgres scripts/restore_check.sh DUMP [COUNTS]
# DATABASE_URL names the server to restore on (its database is only used to connect; the scratch
# database cnscd_restore_check_<pid> is created next to it). COUNTS defaults to DUMP's .counts.
set -euo pipefail

dump=${1:?usage: scripts/restore_check.sh DUMP [COUNTS]}
counts=${2:-${dump%.dump}.counts}
url=${DATABASE_URL:?DATABASE_URL must name a PostgreSQL server to restore on}
url=${url/postgresql+psycopg:/postgresql:}
url=${url/postgres:\/\//postgresql://}
fail() { echo "restore check: FAILED: $*" >&2; exit 1; }
[ -f "$dump" ] || fail "no dump $dump"
[ -f "$counts" ] || fail "no counts file $counts"

want_sha=$(awk '$1 == "dump_sha256" {print $2}' "$counts")
have_sha=$(sha256sum "$dump" | cut -d' ' -f1)
[ -n "$want_sha" ] || fail "$counts has no dump_sha256 line"
[ "$want_sha" = "$have_sha" ] || fail "the dump's SHA-256 is not the one recorded at dump time"

scratch="cnscd_restore_check_$$"
server=${url%%\?*}
server=${server%/*}
psql "$server/postgres" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch" \
  || fail "cannot create the scratch database"
trap 'psql "$server/postgres" -XAtq -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

log=$(mktemp -t cnscd-restore-XXXX.log)
pg_restore --exit-on-error --no-owner --no-privileges --dbname="$server/$scratch" "$dump" >"$log" 2>&1 \
  || { tail -5 "$log" >&2; fail "pg_restore did not finish (log: $log)"; }

mismatches=0
tables=0
rows=0
while read -r kind table want; do
  [ "$kind" = "table" ] || continue
  tables=$((tables + 1))
  have=$(psql "$server/$scratch" -XAtq -v ON_ERROR_STOP=1 \
         -c "SELECT count(*) FROM public.\"$table\"" 2>/dev/null) || have="missing"
  if [ "$have" != "$want" ]; then
    echo "restore check: $table has $have rows, $want at dump time" >&2
    mismatches=$((mismatches + 1))
  else
    rows=$((rows + have))
  fi
done < "$counts"
[ "$tables" -gt 0 ] || fail "$counts lists no tables"
[ "$mismatches" -eq 0 ] || fail "$mismatches of $tables tables differ from the counts at dump time"
rm -f "$log"
echo "restore check: OK ($tables tables, $rows rows as at dump time; $dump)"
