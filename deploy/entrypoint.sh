#!/bin/sh
# Entry point of the Amanat image: `amanat-entrypoint [--migrate] <command...>`.
#
# With --migrate, the database schema is brought up to date before the service starts, every time the
# container starts: a first deploy, a restart, or a new image that Watchtower rolled out. The migration
# runner holds a PostgreSQL advisory lock (platform/src/migrate.ts), so replicas starting together wait
# for the one migrating instead of racing it, and a failed migration exits non-zero before the old
# schema is ever served by new code (the container restarts and tries again).
set -eu

if [ "${1-}" = "--migrate" ]; then
  shift
  node platform/src/cli/migrate.ts
fi

# exec: the service becomes the process Docker signals (SIGTERM starts its graceful shutdown).
exec "$@"
