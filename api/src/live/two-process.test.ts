import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DEAL_EVENTS_CHANNEL, redisKeys } from '@amanat/core';
import { connectRedis, createLogger, createRedis, OutboxRelay } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../../devstack/testing.ts';
import { PAYOUT_ADDRESS as PAYOUT, testApiEnv, testInitData, LOCAL_USDT as USDT } from '../testing.ts';
import { eventsFor, openLive, waitForSubscribers } from './test-client.ts';

/**
 * Two real API processes on one database and one Redis, as behind a proxy: a deal changed through A
 * reaches a client connected to B, because events fan out through Redis pub/sub, not process memory.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;

interface ApiProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

let db: TestDatabase;
let redis: TestRedis;
let relayRedis: Redis;
let relay: OutboxRelay;
let a: ApiProcess;
let b: ApiProcess;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startApi(): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(NODE, ['api/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...testApiEnv(db, redis),
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited at start (${child.exitCode}): ${output}`);
    const up = await fetch(`${url}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, child, exited, output: () => output };
}

async function call(api: ApiProcess, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(api.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answered
  const json: any = await res.json().catch(() => null);
  return { status: res.status, body: json };
}

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await createTestRedis();
  relayRedis = await connectRedis(createRedis(redis.url, 'producer', 'test-relay'));
  relay = new OutboxRelay({
    pool: db.pool,
    redis: relayRedis,
    prefix: redis.prefix,
    logger: createLogger('test', 'silent'),
  });
  [a, b] = await Promise.all([startApi(), startApi()]);
});
afterAll(async () => {
  for (const api of [a, b]) if (api?.child.exitCode === null) api.child.kill('SIGKILL');
  await relay?.stop();
  relayRedis?.disconnect();
  await redis?.close();
  await db?.close();
});

it('delivers an event from a change made through one process to a client of the other, and SIGTERM sends it to reconnect', async () => {
  const signIn = await call(a, 'POST', '/api/auth/telegram', undefined, { initData: testInitData(410_001) });
  expect(signIn.status).toBe(200);
  const { token, user } = signIn.body;

  const client = await openLive(b.url);
  expect(await client.auth(token)).toEqual({ type: 'ready', userId: user.id });
  // Both processes listen on the channel before anything is published.
  await waitForSubscribers(redis.redis, redisKeys(redis.prefix).channel(DEAL_EVENTS_CHANNEL), 2);

  const created = await call(a, 'POST', '/api/deals', token, {
    title: 'Two-process deal',
    amount: '10',
    asset: { chainId: 31337, token: USDT },
    role: 'seller',
    address: PAYOUT,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const dealId = created.body.id as string;
  const cancelled = await call(a, 'POST', `/api/deals/${dealId}/cancel`, token, {
    reason: 'changed my mind',
  });
  expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
  while ((await relay.drainOnce()) > 0) {}

  await client.next('the cancel event', (m) => m.type === 'deal.event' && m.event.action === 'cancel');
  expect(eventsFor(client, dealId).map((e) => [e.action, e.version])).toEqual([
    ['create', 1],
    ['cancel', 2],
  ]);

  b.child.kill('SIGTERM');
  expect(await client.closed).toEqual({ code: 1012, reason: 'reconnect' });
  expect(client.messages.at(-1)).toMatchObject({ type: 'reconnect', retryAfterMs: expect.any(Number) });
  expect(await b.exited, b.output()).toEqual({ code: 0, signal: null });

  // A keeps serving its own clients after B left.
  const survivor = await openLive(a.url);
  expect((await survivor.auth(token)).userId).toBe(user.id);
  a.child.kill('SIGTERM');
  expect(await survivor.closed).toEqual({ code: 1012, reason: 'reconnect' });
  expect(await a.exited, a.output()).toEqual({ code: 0, signal: null });
});
