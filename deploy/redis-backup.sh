#!/bin/sh
# Writes a point-in-time snapshot (RDB) of Amanat's Redis to stdout, taken by the server while it runs:
#
#   deploy/redis-backup.sh > /var/backups/amanat/redis-$(date -u +%Y%m%dT%H%M%SZ).rdb
#
# By default this script runs itself inside the compose `redis` container (its redis-cli). With
# AMANAT_REDIS_DIRECT=1 it runs here; arguments go to redis-cli (e.g. -h host -p port).
# deploy/backup.test.ts runs this script.
set -eu

if [ "${AMANAT_REDIS_DIRECT-}" != 1 ]; then
  self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
  cd "$(dirname "$self")/.."
  exec docker compose exec -T -e AMANAT_REDIS_DIRECT=1 redis sh -s -- "$@" < "$self"
fi

# redis-cli trims the transfer's end marker from a file it writes; written to a pipe, the marker would
# stay at the end and Redis would refuse to load the snapshot.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
redis-cli "$@" --rdb "$tmp" >&2
cat "$tmp"
