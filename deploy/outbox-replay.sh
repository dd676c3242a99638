#!/bin/sh
# Hands every outbox row delivered since a moment to the outbox relay again, for a Redis that lost what
# it received since then (restored from a backup, or replaced by an empty one):
#
#   deploy/outbox-replay.sh 2025-01-01T00:00:00Z
#
# Give a moment before the Redis backup began (or before the data was lost); earlier is harmless. The
# relay in the workers picks the rows up within OUTBOX_POLL_MS and enqueues them under their own job
# ids: jobs Redis still has are not added twice, and the jobs themselves tolerate running again
# (notifications are recorded per event, payouts are signed once, stale deadlines do nothing).
# Delivered rows are pruned after 7 days, so only the last 7 days can be replayed.
# AMANAT_PG_DIRECT, PGUSER and PGDATABASE as in deploy/pg-backup.sh; DATABASE_SCHEMA as the services
# have it (default public). deploy/backup.test.ts runs this script.
set -eu
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
  echo "usage: deploy/outbox-replay.sh <timestamp, e.g. 2025-01-01T00:00:00Z>" >&2
  exit 2
fi

pg() {
  if [ "${AMANAT_PG_DIRECT-}" = 1 ]; then "$@"; else docker compose exec -T postgres "$@"; fi
}

pg psql --username="${PGUSER:-amanat}" --dbname="${PGDATABASE:-amanat}" --quiet -v ON_ERROR_STOP=1 \
  -v since="$1" -v schema="${DATABASE_SCHEMA:-public}" <<'SQL'
SET search_path TO :"schema";
SELECT count(*) AS rows_to_redeliver FROM outbox WHERE delivered_at >= :'since';
UPDATE outbox SET delivered_at = NULL WHERE delivered_at >= :'since';
SQL
