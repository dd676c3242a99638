// Private servers for the deployment's tests: Debian's redis-server started with the very deploy/redis.conf
// that docker-compose.yml mounts, and a PostgreSQL whose major version matches the pg_dump on this machine
// (what the compose `postgres` container gives the backup scripts in production).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { findFreePort } from '../devstack/ports.ts';
import { until } from '../devstack/testing.ts';

export const REDIS_CONF = join(import.meta.dirname, 'redis.conf');

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export interface ConfRedis {
  url: string;
  port: number;
  /** A crash: SIGKILL, no chance to write anything more. */
  kill(): Promise<void>;
  /** A clean stop (SIGTERM). */
  stop(): Promise<void>;
}

/**
 * `redis-server deploy/redis.conf` with only what differs outside a container appended after the file:
 * the port, loopback instead of every interface, the data directory, and `overrides` (a test's own).
 * Resolves once Redis answers and has loaded its data.
 */
export async function startConfRedis(opts: {
  dir: string;
  port: number;
  overrides?: string[];
}): Promise<ConfRedis> {
  const args = [REDIS_CONF, '--port', String(opts.port), '--bind', '127.0.0.1', '--dir', opts.dir];
  const child = spawn('redis-server', [...args, ...(opts.overrides ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (d) => (output = (output + d).slice(-4000)));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const url = `redis://127.0.0.1:${opts.port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await until(
      'redis-server to load its data and answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          // PING answers LOADING while the AOF is read.
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      30_000,
    );
  } finally {
    probe.disconnect();
  }
  const end = async (signal: NodeJS.Signals) => {
    process.off('exit', onExit);
    child.kill(signal);
    await exited(child);
  };
  return { url, port: opts.port, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

export interface PrivatePostgres {
  port: number;
  /** libpq variables that point psql, pg_dump and pg_restore at this server. */
  env: { PGHOST: string; PGPORT: string; PGUSER: string };
  url(database: string): string;
  stop(): Promise<void>;
}

/** The major version of the pg_dump on the PATH (the Debian package postgresql-client). */
export function pgDumpMajor(): number {
  const version = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
  const major = /\(PostgreSQL\) (\d+)/.exec(version)?.[1];
  if (!major) throw new Error(`cannot read pg_dump's version from: ${version}`);
  return Number(major);
}

/**
 * A throw-away PostgreSQL cluster from Debian's server package of the same major as pg_dump, made like
 * the compose `postgres` container makes its own (data checksums, `user` the superuser), on a free
 * loopback port. PostgreSQL refuses to run as root; as root it runs as the `postgres` system user.
 */
export async function startPrivatePostgres(user: string): Promise<PrivatePostgres> {
  const major = pgDumpMajor();
  const bin = `/usr/lib/postgresql/${major}/bin`;
  if (!existsSync(join(bin, 'postgres'))) {
    throw new Error(
      `No PostgreSQL ${major} server in ${bin} (pg_dump is ${major}): install it (Debian: apt-get install -y postgresql-${major})`,
    );
  }
  const base = mkdtempSync(join(tmpdir(), 'amanat-pg-'));
  const data = join(base, 'data');
  mkdirSync(data);
  let owner: { uid: number; gid: number } | Record<string, never> = {};
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    owner = { uid: id('-u'), gid: id('-g') };
    chownSync(base, owner.uid, owner.gid);
    chownSync(data, owner.uid, owner.gid);
  }
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', user, '--auth=trust', '--data-checksums', '--encoding=UTF8', '--no-sync'],
    { ...owner, stdio: 'pipe' },
  );
  const port = await findFreePort();
  const child = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...owner, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const url = (database: string) => `postgres://${user}@127.0.0.1:${port}/${database}`;
  await until(
    'the private PostgreSQL to accept connections',
    async () => {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${output}`);
      const client = new pg.Client({ connectionString: url('postgres') });
      try {
        await client.connect();
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    },
    30_000,
  );
  return {
    port,
    env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user },
    url,
    stop: async () => {
      process.off('exit', onExit);
      // SIGINT: PostgreSQL's fast shutdown.
      child.kill('SIGINT');
      await exited(child);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
