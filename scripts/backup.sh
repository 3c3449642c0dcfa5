#!/usr/bin/env bash
# A consistent backup: the database as a pg_dump custom-format file, the row count of every table
# taken in the same snapshot as the dump (with the dump's SHA-256), and the media directory.
#   DATABASE_URL=postgresql://cnscd@127.0.0.1/cnscd MEDIA_DIR=/srv/cnscd/media \
#     scripts/backup.sh /srv/backups          # writes cnscd-<UTC time>.{dump,counts,media.tar.gz}
# Check a backup with scripts/restore_check.sh /srv/backups/cnscd-<time>.dump (docs/DEPLOY.md).
set -euo pipefail

out=${1:?usage: scripts/backup.sh OUT_DIR   (DATABASE_URL, optional MEDIA_DIR from the environment)}
url=${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database}
url=${url/postgresql+psycopg:/postgresql:}
url=${url/postgres:\/\//postgresql://}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
base="$out/cnscd-$stamp"
mkdir -p "$out"
umask 077  # the dump holds personal data

# One REPEATABLE READ transaction exports its snapshot; pg_dump reads that very snapshot, and the
# counts are taken inside the same transaction, so they describe exactly what the dump holds.
coproc PSQL { psql "$url" -XAtq -v ON_ERROR_STOP=1 -F ' ' 2>&1; }
exec {to_psql}>&"${PSQL[1]}" {from_psql}<&"${PSQL[0]}"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot();" >&$to_psql
read -r snapshot <&$from_psql || { echo "backup: cannot open a snapshot" >&2; exit 1; }
[[ $snapshot =~ ^[0-9A-F-]+$ ]] || { echo "backup: psql said: $snapshot" >&2; exit 1; }

pg_dump --snapshot="$snapshot" --format=custom --compress=6 --file="$base.dump.part" "$url"

echo "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE';" >&$to_psql
read -r tables <&$from_psql
echo "SELECT 'SELECT ''table ' || table_name || ' '' || count(*) FROM public.' || quote_ident(table_name) || ';' FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name;" >&$to_psql
queries=()
for _ in $(seq "$tables"); do read -r q <&$from_psql; queries+=("$q"); done
{
  echo "# cnscd backup $stamp: row counts in the dump's snapshot ($snapshot)"
  echo "dump_sha256 $(sha256sum "$base.dump.part" | cut -d' ' -f1)"
  for q in "${queries[@]}"; do echo "$q" >&$to_psql; read -r line <&$from_psql; echo "$line"; done
} > "$base.counts.part"
echo "COMMIT;" >&$to_psql
echo '\q' >&$to_psql
wait "$PSQL_PID" 2>/dev/null || true
mv "$base.dump.part" "$base.dump"
mv "$base.counts.part" "$base.counts"

media=${MEDIA_DIR:-}
if [ -n "$media" ] && [ -d "$media" ]; then
  # Photos are written once and never changed, so a copy taken after the dump holds every photo
  # the dump names (and perhaps a few newer ones, which a restore ignores).
  tar -czf "$base.media.tar.gz.part" -C "$media" .
  mv "$base.media.tar.gz.part" "$base.media.tar.gz"
fi
echo "backup: $base.dump ($tables tables counted in $base.counts)${media:+, media $base.media.tar.gz}"
