#!/bin/sh
# Writes a backup of Amanat's PostgreSQL database to stdout, in pg_dump's custom format (compressed;
# pg_restore can restore all of it or single tables):
#
#   deploy/pg-backup.sh > /var/backups/amanat/amanat-$(date -u +%Y%m%dT%H%M%SZ).dump
#
# By default pg_dump runs inside the compose `postgres` container, so its version is always the
# server's. With AMANAT_PG_DIRECT=1 it runs here, against the server PGHOST/PGPORT/PGPASSWORD name (a
# managed database); this pg_dump's major version must then be at least the server's.
# PGUSER and PGDATABASE default to the compose file's `amanat`. deploy/backup.test.ts runs this script.
set -eu
cd "$(dirname "$0")/.."

pg() {
  if [ "${AMANAT_PG_DIRECT-}" = 1 ]; then "$@"; else docker compose exec -T postgres "$@"; fi
}

pg pg_dump --username="${PGUSER:-amanat}" --dbname="${PGDATABASE:-amanat}" --format=custom --no-owner
