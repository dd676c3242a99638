import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { type ApiConfig, apiConfigSchema, loadConfig } from '@amanat/core';
import { connectRedis, createLogger, createRedis } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { accountXpub } from '../../devstack/secrets.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../devstack/testing.ts';
import { secretKeyFor, signInitData } from './auth/telegram-init-data.ts';
import { type ApiServer, createApiServer } from './server.ts';

/** A bot token shaped like a real one; tests sign init data with it. */
export const TEST_BOT_TOKEN = '7000001:AAH-test-token-for-amanat-api-tests_0123456789';
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';
export const TEST_XPUB = accountXpub(TEST_MNEMONIC);
export const TEST_SERVICE_SECRET = 'assist-service-secret-for-tests-0123456789';
/** The demo USDT-like token devstack deploys on the local chain (6 decimals). */
export const LOCAL_USDT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
/** Party addresses from outside the test mnemonic, so none can coincide with a deposit address. */
export const PAYOUT_ADDRESS = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045';
export const REFUND_ADDRESS = '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B';
export const OPERATOR_TG = 900_001;
export const ARBITRATOR_TG = 900_002;

/** The Standard Webhooks secret the test API verifies payment callbacks with. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('amanat-test-webhook-secret-32byte').toString('base64')}`;

/** The environment an API under test runs with; each test may override any of it. */
export function testApiEnv(
  db: { url: string; schema: string },
  redis: { url: string; prefix: string },
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    APP_ORIGIN: 'http://app.test',
    TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
    TELEGRAM_BOT_USERNAME: 'amanat_test_bot',
    DEPOSIT_XPUB: TEST_XPUB,
    OPERATOR_TELEGRAM_IDS: String(OPERATOR_TG),
    ARBITRATOR_TELEGRAM_IDS: String(ARBITRATOR_TG),
    ASSIST_SERVICE_SECRET: TEST_SERVICE_SECRET,
    PAYMENT_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    RPC_URLS: JSON.stringify({ 31337: ['http://127.0.0.1:8545'] }),
    RATE_LIMIT_IP_PER_MIN: '100000',
    RATE_LIMIT_USER_PER_MIN: '100000',
  };
}

export interface TestApi {
  url: string;
  api: ApiServer;
  config: ApiConfig;
  db: TestDatabase;
  redis: TestRedis;
  /** The API's own (fail-fast) Redis connection. */
  apiRedis: Redis;
  /** Signs in as a Telegram user (init data signed with the test bot token) and returns a session token. */
  signIn(telegramId: number, profile?: { username?: string; firstName?: string }): Promise<string>;
  /** fetch against the API with JSON in and out and an optional bearer token. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answered
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Creates a deal over REST (the seller by default) and returns its view; fails loudly otherwise. */
  createDeal(token: string, over?: Record<string, unknown>): Promise<TestDeal>;
  /** A deal both parties accepted, awaiting payment at its deposit address. */
  startDeal(sellerToken: string, buyerToken: string, over?: Record<string, unknown>): Promise<TestDeal>;
  close(): Promise<void>;
}

/** A deal view as tests read it (the deposit address is null until both accepted): any field of the answer. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answered
export type TestDeal = { id: string; depositAddress: string } & Record<string, any>;

/** A valid create-deal body: 500 demo USDT, the seller's payout address; override any field. */
export const newDealBody = (over: Record<string, unknown> = {}) => ({
  title: 'Used bicycle',
  amount: '500',
  asset: { chainId: 31337, token: LOCAL_USDT },
  role: 'seller',
  address: PAYOUT_ADDRESS,
  ...over,
});

/** The body of an answer that had the status a test set up for, or an error that shows the answer. */
function expectOk(res: { status: number; body: unknown }, status: number): TestDeal {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as TestDeal;
}

export function testInitData(
  telegramId: number,
  profile: { username?: string; firstName?: string } = {},
  authDate = new Date(),
) {
  return signInitData(
    {
      auth_date: String(Math.floor(authDate.getTime() / 1000)),
      query_id: `q${telegramId}`,
      user: JSON.stringify({
        id: telegramId,
        first_name: profile.firstName ?? `User ${telegramId}`,
        ...(profile.username ? { username: profile.username } : {}),
      }),
    },
    secretKeyFor(TEST_BOT_TOKEN),
  );
}

/** An API on its own database schema and Redis prefix, listening on a free port. */
export async function startTestApi(
  overrides: Record<string, string> = {},
  opts: { logTo?: Writable } = {},
): Promise<TestApi> {
  const db = await createTestDatabase();
  const redis = await createTestRedis();
  const config = loadConfig('api', apiConfigSchema, { ...testApiEnv(db, redis), ...overrides });
  const apiRedis = await connectRedis(
    createRedis(redis.url, 'producer', 'api-test', { autoPipelining: true }),
  );
  const api = createApiServer({
    config,
    logger: opts.logTo ? createLogger('api', 'info', opts.logTo) : createLogger('api', 'silent'),
    pool: db.pool,
    redis: apiRedis,
  });
  const server = api.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  api.attach(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const call: TestApi['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, {
      method,
      headers,
      ...(opts.body !== undefined
        ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
        : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body, headers: res.headers };
  };

  const createDeal: TestApi['createDeal'] = async (token, over) =>
    expectOk(await call('POST', '/api/deals', { token, body: newDealBody(over) }), 201);

  return {
    url,
    api,
    config,
    db,
    redis,
    apiRedis,
    call,
    createDeal,
    async startDeal(sellerToken, buyerToken, over) {
      const deal = await createDeal(sellerToken, over);
      const code = deal.invite?.code;
      expectOk(
        await call('POST', '/api/deals/join', { token: buyerToken, body: { code, address: REFUND_ADDRESS } }),
        200,
      );
      expectOk(await call('POST', `/api/deals/${deal.id}/accept`, { token: sellerToken, body: {} }), 200);
      return expectOk(
        await call('POST', `/api/deals/${deal.id}/accept`, { token: buyerToken, body: {} }),
        200,
      );
    },
    async signIn(telegramId, profile) {
      const res = await call('POST', '/api/auth/telegram', {
        body: { initData: testInitData(telegramId, profile) },
      });
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async close() {
      await api.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      apiRedis.disconnect();
      await redis.close();
      await db.close();
    },
  };
}

/**
 * The answer is an RFC 9457 problem (with our stable code, and nothing of the process inside); with
 * `status` and `code`, it is that one.
 */
export function expectProblem(
  res: { status: number; body: unknown; headers: Headers },
  status?: number,
  code?: string,
  what = '',
): void {
  const label = `${what} ${JSON.stringify(res.body)}`;
  if (status !== undefined) expect(res.status, label).toBe(status);
  expect(res.headers.get('content-type'), label).toMatch(/^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  expect(body, label).toMatchObject({
    type: `https://amanat.app/problems/${body.code}`,
    title: expect.any(String),
    status: res.status,
    code: code ?? expect.stringMatching(/^[a-z_]+$/),
  });
  expect(JSON.stringify(body), label).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|"stack"/);
  // A refusal never carries a session.
  expect(JSON.stringify(body), label).not.toMatch(/ses_[A-Za-z0-9_-]{20,}/);
}
