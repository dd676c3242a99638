#!/bin/sh
# Restores a backup made by deploy/pg-backup.sh, replacing the current database:
#
#   deploy/pg-restore.sh < /var/backups/amanat/amanat-20250101T000000Z.dump
#
# Stop every service that uses the database first (deploy/README.md, "Backups"). The dump is restored
# into a new database in one transaction; only when all of it went in is the current database dropped
# and the restored one renamed into its place, so a damaged or wrong file changes nothing.
# AMANAT_PG_DIRECT, PGUSER and PGDATABASE as in deploy/pg-backup.sh. deploy/backup.test.ts runs this script.
set -eu
cd "$(dirname "$0")/.."

pg() {
  if [ "${AMANAT_PG_DIRECT-}" = 1 ]; then "$@"; else docker compose exec -T postgres "$@"; fi
}

user=${PGUSER:-amanat}
db=${PGDATABASE:-amanat}
staging="${db}_restoring"

# Only pg_restore reads the backup on stdin: `docker compose exec` would pass it to any command.
pg dropdb --username="$user" --if-exists "$staging" < /dev/null
pg createdb --username="$user" "$staging" < /dev/null
if ! pg pg_restore --username="$user" --dbname="$staging" \
  --no-owner --exit-on-error --single-transaction; then
  pg dropdb --username="$user" --if-exists "$staging" < /dev/null
  echo "pg-restore: the backup could not be restored; the database $db was not changed" >&2
  exit 1
fi
# --force ends the connections of anything still attached (PostgreSQL 13 and later).
pg dropdb --username="$user" --if-exists --force "$db" < /dev/null
pg psql --username="$user" --dbname=postgres --quiet -v ON_ERROR_STOP=1 \
  -c "ALTER DATABASE \"$staging\" RENAME TO \"$db\"" < /dev/null
echo "pg-restore: $db restored" >&2
