// Redis under the deployment's own settings (deploy/redis.conf, as docker-compose.yml mounts it) is killed
// with SIGKILL while BullMQ jobs wait, sit delayed, and one is being worked on by a process killed with it:
// after the restart every job is there again, and the one in flight is taken up again and finished. The
// same steps with the AOF turned off lose every job, so the test can tell the difference.
//
// A SIGKILL is what a crash of Redis or of its container does. A power loss also drops what the kernel
// had not written to disk yet; there the setting alone decides (appendfsync always: fsynced before
// Redis answers), and the first test checks that the server runs with it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisKeys } from '@amanat/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../devstack/ports.ts';
import { until } from '../devstack/testing.ts';
import { REDIS_CONF, startConfRedis } from './test-servers.ts';

const PREFIX = redisKeys('amanat').bullPrefix;
const ALL_STATES = ['wait', 'delayed', 'active', 'prioritized', 'completed', 'failed'] as const;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshRedis(overrides: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'amanat-aof-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await findFreePort();
  const start = async () => {
    const server = await startConfRedis({ dir, port, overrides });
    cleanups.push(() => server.stop());
    return server;
  };
  return { start };
}

function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** Every job of a queue, in any state, as `id:data` in id order. */
async function jobsOf(redis: Redis, name: string): Promise<string[]> {
  const queue = new Queue(name, { connection: redis, prefix: PREFIX });
  const jobs = await queue.getJobs([...ALL_STATES]);
  return jobs.map((j) => `${j.id}:${JSON.stringify(j.data)}`).sort();
}

/**
 * Jobs as the outbox relay enqueues them, acknowledged by Redis before this returns: notifications in
 * one pipeline (addBulk), deadlines one by one and delayed by an hour.
 */
async function enqueue(redis: Redis): Promise<{ notifications: string[]; deadlines: string[] }> {
  const notifications = new Queue('notifications', { connection: redis, prefix: PREFIX });
  const deadlines = new Queue('deadlines', { connection: redis, prefix: PREFIX });
  await notifications.addBulk(
    Array.from({ length: 200 }, (_, i) => ({
      name: 'deal-event',
      data: { n: i },
      opts: { jobId: `event-${i}` },
    })),
  );
  for (let i = 0; i < 30; i++) {
    await deadlines.add('inspection-end', { n: i }, { jobId: `deadline-${i}`, delay: 3600_000 });
  }
  return { notifications: await jobsOf(redis, 'notifications'), deadlines: await jobsOf(redis, 'deadlines') };
}

/**
 * A workers process (a child of its own) that takes one payouts job and is still working on it: the job
 * is `active` with the worker's lock when the machine goes down.
 */
async function payoutInFlight(port: number, redis: Redis): Promise<{ id: string; kill: () => void }> {
  const payouts = new Queue('payouts', { connection: redis, prefix: PREFIX });
  await payouts.add('execute-payout', { dealId: 'd-1' }, { jobId: 'payout-d-1' });
  const script = `
    import { Worker } from 'bullmq';
    const worker = new Worker('payouts', () => new Promise(() => {}), {
      connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: null },
      prefix: process.env.PREFIX,
      // Production's workers use 15 s and 5 s (workers/src/main.ts); shorter here, same mechanism.
      lockDuration: 2000,
      stalledInterval: 1000,
    });
    worker.on('active', (job) => console.log('active ' + job.id));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, REDIS_PORT: String(port), PREFIX },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  await until('the workers process to take the payout job', () => out.includes('active payout-d-1'));
  return { id: 'payout-d-1', kill: () => child.kill('SIGKILL') };
}

describe('Redis with deploy/redis.conf', () => {
  it('runs with the settings the file promises', async () => {
    const server = await (await freshRedis()).start();
    const redis = connect(server.url);
    const setting = async (name: string) => ((await redis.config('GET', name)) as string[])[1];
    expect(await setting('appendonly')).toBe('yes');
    expect(await setting('appendfsync')).toBe('always');
    expect(await setting('no-appendfsync-on-rewrite')).toBe('no');
    expect(await setting('maxmemory-policy')).toBe('noeviction');
    expect(await setting('save')).toBe('');
    // Only port, bind and dir are overridden here; compose runs the file as it is.
    expect(readFileSync(REDIS_CONF, 'utf8')).toMatch(/^bind \* -::\*$/m);
  });

  it('loses no queued job when it is killed, and the job in flight is finished after the restart', async () => {
    const redis$ = await freshRedis();
    let server = await redis$.start();
    let redis = connect(server.url);
    const before = await enqueue(redis);
    expect(before.notifications).toHaveLength(200);
    expect(before.deadlines).toHaveLength(30);
    const inFlight = await payoutInFlight(server.port, redis);

    // The machine goes down: Redis and the workers process together, nothing flushed on the way out.
    inFlight.kill();
    await server.kill();
    redis.disconnect();

    server = await redis$.start();
    redis = connect(server.url);
    expect(await jobsOf(redis, 'notifications')).toEqual(before.notifications);
    expect(await jobsOf(redis, 'deadlines')).toEqual(before.deadlines);
    const payouts = new Queue('payouts', { connection: redis, prefix: PREFIX });
    expect((await payouts.getJobs(['active'])).map((j) => j.id)).toEqual([inFlight.id]);

    // A new workers process finds the job whose worker died (its lock expired) and runs it.
    const done: string[] = [];
    const worker = new Worker('payouts', async (job) => void done.push(job.id as string), {
      connection: connect(server.url),
      prefix: PREFIX,
      stalledInterval: 500,
    });
    cleanups.push(() => worker.close());
    await until('the payout job to be taken up again', () => done.includes(inFlight.id));
    expect(done).toEqual([inFlight.id]);
  });

  it('control: with the AOF off, the same crash loses every job', async () => {
    const redis$ = await freshRedis(['--appendonly', 'no']);
    let server = await redis$.start();
    let redis = connect(server.url);
    const before = await enqueue(redis);
    expect(before.notifications).toHaveLength(200);
    await server.kill();
    redis.disconnect();

    server = await redis$.start();
    redis = connect(server.url);
    expect(await jobsOf(redis, 'notifications')).toEqual([]);
    expect(await jobsOf(redis, 'deadlines')).toEqual([]);
  });
});
