#!/bin/sh
# Restores a snapshot made by deploy/redis-backup.sh as Redis's append-only file, so Redis (AOF on, see
# deploy/redis.conf) starts from exactly that data:
#
#   deploy/redis-restore.sh < /var/backups/amanat/redis-20250101T000000Z.rdb
#
# restores into the compose service's redis-data volume; with a directory argument
# (`deploy/redis-restore.sh /var/lib/redis < …`) into that Redis data directory on this machine.
#
# Redis and every Amanat service must be stopped first, and the outbox replayed afterwards
# (deploy/README.md, "Backups"). The snapshot is checked with redis-check-rdb before anything is
# replaced. deploy/backup.test.ts runs this script.
set -eu

if [ $# -eq 0 ]; then
  # Run this same script in a one-off redis container, against the service's /data volume. The image's
  # entry point gives the files back to the redis user when the service starts.
  cd "$(dirname "$0")/.."
  exec docker compose run --rm --no-deps -T --entrypoint sh \
    --volume "$PWD/deploy/redis-restore.sh:/usr/local/bin/redis-restore.sh:ro" \
    redis /usr/local/bin/redis-restore.sh /data
fi

dir=$1
staging="$dir/appendonlydir.restoring"
rm -rf "$staging"
mkdir "$staging"
# An AOF may start with an RDB image: the snapshot becomes the base file, with no commands after it.
cat > "$staging/appendonly.aof.1.base.rdb"
if ! redis-check-rdb "$staging/appendonly.aof.1.base.rdb" > /dev/null; then
  rm -rf "$staging"
  echo "redis-restore: the snapshot is not a valid RDB file; nothing was changed" >&2
  exit 1
fi
printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' > "$staging/appendonly.aof.manifest"
rm -rf "$dir/appendonlydir"
mv "$staging" "$dir/appendonlydir"
echo "redis-restore: $dir/appendonlydir now holds the snapshot" >&2
