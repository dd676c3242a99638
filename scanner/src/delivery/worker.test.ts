import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QUEUES, redisKeys } from '@amanat/core';
import { type Job, Queue, type Worker } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis, until } from '../../../devstack/testing.ts';
import { enqueueEvents } from '../scan/emit.ts';
import type { PaymentEvent } from '../scan/plan.ts';
import { silentLogger } from '../scan/testing.ts';
import {
  CALLBACK_ATTEMPTS,
  CALLBACK_BACKOFF_CAP_MS,
  CALLBACK_RETRY_SPAN_MS,
  callbackBackoffMs,
  shortestRetrySpanMs,
} from './retry.ts';
import { startCallbackWorker } from './worker.ts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: unknown;
}

const event = (n: number): PaymentEvent => ({
  type: 'payment.detected',
  data: {
    chainId: 31337,
    txHash: `0x${n.toString(16).padStart(64, '0')}`,
    logIndex: 0,
    blockNumber: '7',
    blockHash: `0x${'ab'.repeat(32)}`,
    from: `0x${'1'.repeat(40)}`,
    to: `0x${'2'.repeat(40)}`,
    token: `0x${'3'.repeat(40)}`,
    amount: '1000000',
    confirmations: 1,
  },
});

describe('callback delivery', () => {
  let redis: TestRedis;
  let queue: Queue;
  let server: Server;
  let url: string;
  let worker: Worker | null = null;
  let received: Received[] = [];
  /** What the API answers to the n-th request (0-based); 204 when it returns undefined. */
  let answer: (n: number) => number | undefined = () => undefined;

  beforeAll(async () => {
    redis = await createTestRedis();
    queue = new Queue(QUEUES.callbacks, {
      connection: redis.redis,
      prefix: redisKeys(redis.prefix).bullPrefix,
    });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let verified: unknown = null;
        try {
          verified = new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
        } catch {
          verified = null;
        }
        const status = answer(received.length) ?? (verified ? 204 : 401);
        received.push({ headers: req.headers, body, verified });
        res.writeHead(status).end(status === 400 ? 'malformed event' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/payment/callback`;
  });
  afterEach(async () => {
    await worker?.close();
    worker = null;
    received = [];
    answer = () => undefined;
    await queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await queue?.close();
    await new Promise((resolve) => server?.close(resolve));
    await redis?.close();
  });

  const pending = () => ({ redis: redis.redis, prefix: redis.prefix });
  const undelivered = () => redis.redis.zrange(redisKeys(redis.prefix).undeliveredEvents(31337), '0', '-1');

  const start = () => {
    worker = startCallbackWorker({
      connection: redis.redis,
      prefix: redis.prefix,
      target: { url, secret: SECRET, timeoutMs: 2_000 },
      backoffMs: () => 50,
      logger: silentLogger,
    });
  };
  const settled = (job: Job, state: 'completed' | 'failed') =>
    until(`job ${job.id} ${state}`, async () => (await job.getState()) === state);

  it('posts each event signed per Standard Webhooks, with its event id as webhook-id', async () => {
    await enqueueEvents(queue, [event(1), event(2)], pending());
    // Until the API acknowledges them, the checkpoint must not pass their block.
    expect(await undelivered()).toHaveLength(2);
    start();
    const jobs = await queue.getJobs(['waiting', 'active', 'completed']);
    expect(jobs).toHaveLength(2);
    for (const job of jobs) await settled(job, 'completed');
    expect(await undelivered()).toEqual([]);

    expect(received).toHaveLength(2);
    for (const r of received) {
      const job = jobs.find((j) => j.data.eventId === r.headers['webhook-id']);
      expect(job).toBeDefined();
      expect(r.body).toBe(job?.data.body);
      expect(r.verified).toEqual(JSON.parse(r.body));
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['webhook-signature']).toMatch(/^v1,/);
      expect(JSON.parse(r.body)).toMatchObject({ type: 'payment.detected', data: { amount: '1000000' } });
    }
  });

  it('signs with the next secret too while one is rotated in, so either secret alone verifies it', async () => {
    const next = `whsec_${randomBytes(32).toString('base64')}`;
    worker = startCallbackWorker({
      connection: redis.redis,
      prefix: redis.prefix,
      target: { url, secret: SECRET, nextSecret: next, timeoutMs: 2_000 },
      backoffMs: () => 50,
      logger: silentLogger,
    });
    await enqueueEvents(queue, [event(9)], pending());
    const [job] = await queue.getJobs(['waiting', 'active', 'completed']);
    if (!job) throw new Error('no job');
    await settled(job, 'completed');
    const [r] = received;
    if (!r) throw new Error('nothing received');
    expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2);
    const headers = r.headers as Record<string, string>;
    // The API verifies with whichever secret it holds: the old one (already checked by the server) or the new.
    expect(r.verified).toEqual(JSON.parse(r.body));
    expect(new Webhook(next).verify(r.body, headers)).toEqual(JSON.parse(r.body));
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => new Webhook(other).verify(r.body, headers)).toThrow();
  });

  it('retries a failing endpoint under the same webhook-id, signing every attempt afresh', async () => {
    answer = (n) => (n < 2 ? 503 : undefined);
    await enqueueEvents(queue, [event(3)], pending());
    start();
    const [job] = await queue.getJobs(['waiting', 'active', 'delayed']);
    if (!job) throw new Error('no job');
    await settled(job, 'completed');
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set([job.data.eventId]));
    expect(received.every((r) => r.verified !== null)).toBe(true);
    expect((await queue.getJob(String(job.id)))?.attemptsMade).toBe(3);
  });

  it('fails the job at once on 400 and keeps it in the failed set', async () => {
    answer = () => 400;
    await enqueueEvents(queue, [event(4)], pending());
    start();
    const [job] = await queue.getJobs(['waiting', 'active']);
    if (!job) throw new Error('no job');
    await settled(job, 'failed');
    const failed = await queue.getJob(String(job.id));
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/400/);
    expect(received).toHaveLength(1);
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 1 });
    // Failed for good: it waits for an operator in the failed set, not in the checkpoint.
    await until('the failed event is no longer pending', async () => (await undelivered()).length === 0);
  });

  it('re-enqueueing an event that is already queued adds nothing', async () => {
    await enqueueEvents(queue, [event(5)], pending());
    await enqueueEvents(queue, [event(5)], pending());
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });
});

describe('callback retry schedule', () => {
  it('retries for at least a day, with waits capped at an hour and jittered below the exponential', () => {
    expect(shortestRetrySpanMs(CALLBACK_ATTEMPTS)).toBeGreaterThanOrEqual(CALLBACK_RETRY_SPAN_MS);
    expect(shortestRetrySpanMs(CALLBACK_ATTEMPTS - 1)).toBeLessThan(CALLBACK_RETRY_SPAN_MS);
    expect(callbackBackoffMs(1, () => 0)).toBe(5_000);
    expect(callbackBackoffMs(2, () => 0)).toBe(10_000);
    expect(callbackBackoffMs(40, () => 0)).toBe(CALLBACK_BACKOFF_CAP_MS);
    expect(callbackBackoffMs(40, () => 0.999)).toBeGreaterThan(CALLBACK_BACKOFF_CAP_MS * 0.7);
    expect(callbackBackoffMs(3, () => 0.5)).toBeLessThan(callbackBackoffMs(3, () => 0));
  });
});
