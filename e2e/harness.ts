// The payment pipeline as it runs in production, for end-to-end tests: api, workers and scanner as their
// own processes (started from their real entry points), on a test database schema, a Redis key prefix and
// anvil. Tests kill and restart any of them. The app server (the production build, made first when the
// sources changed) joins them for the browser tests; the API's CORS origin is always the app's.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyText } from '@amanat/core';
import type { DealRecord } from '@amanat/platform';
import { createRedis, DealStore } from '@amanat/platform';
import { toHex } from 'viem';
import {
  LOCAL_USDT,
  PAYOUT_ADDRESS,
  REFUND_ADDRESS,
  TEST_BOT_TOKEN,
  TEST_MNEMONIC,
  TEST_SERVICE_SECRET,
  TEST_WEBHOOK_SECRET,
  TEST_XPUB,
  testInitData,
} from '../api/src/testing.ts';
import { apiClient } from '../devstack/api-client.ts';
import { ensureAppBuild } from '../devstack/app-build.ts';
import { anvilDevAccounts } from '../devstack/chain.ts';
import { keepOutput } from '../devstack/child-output.ts';
import { findFreePort } from '../devstack/ports.ts';
import { chainClients } from '../devstack/test-chain.ts';
import { createTestDatabase, deleteKeysWithPrefix, type TestDatabase, testEnv } from '../devstack/testing.ts';

const root = join(import.meta.dirname, '..');
const NODE = process.execPath;

export type ServiceName = 'api' | 'workers' | 'scanner' | 'assist' | 'app';

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Everything the process wrote, for assertions and for failure messages. */
  output(): string;
  /** Signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface PipelineOptions {
  /** RPC URLs per chain id: what every service is configured with. */
  rpcUrls: Record<string, string[]>;
  /** Registry overrides (ASSET_REGISTRY), e.g. extra chains or confirmation counts. */
  registry?: Record<string, unknown>;
  /** Another Redis (a private redis-server) instead of the shared test one. */
  redisUrl?: string;
  /** Extra environment per service (e.g. RPC_URLS through a proxy for one of them). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Node flags and environment a service runs with in production (its process-settings.ts). */
  processSettings?: Partial<
    Record<ServiceName, { nodeArgs: readonly string[]; env: Readonly<Record<string, string>> }>
  >;
}

export interface Pipeline {
  db: TestDatabase;
  store: DealStore;
  prefix: string;
  redisUrl: string;
  apiUrl: string;
  assistUrl: string;
  /** The app server's origin (http://127.0.0.1:<port>), also the API's APP_ORIGIN. */
  appUrl: string;
  services: Map<ServiceName, ServiceProcess>;
  start(name: ServiceName): Promise<ServiceProcess>;
  /** Starts api, workers and scanner, in that order (the scanner posts to the API). */
  startAll(): Promise<void>;
  restart(name: ServiceName, signal?: NodeJS.Signals): Promise<ServiceProcess>;
  signIn(telegramId: number): Promise<string>;
  /**
   * A deal both parties accepted over the API, awaiting payment; returns its id, deposit address and the
   * parties' session tokens.
   */
  startDeal(over?: Record<string, unknown>): Promise<{
    id: string;
    deposit: `0x${string}`;
    amountDue: bigint;
    seller: string;
    buyer: string;
  }>;
  deal(id: string): Promise<DealRecord>;
  /** Polls the deal until `check` holds (or fails with the deal and the services' output). */
  waitForDeal(id: string, check: (d: DealRecord) => boolean, what: string, ms?: number): Promise<DealRecord>;
  close(): Promise<void>;
}

/**
 * The payout signer's accounts on anvil. The gas tank is dev account 9 and the fee goes to dev account 8:
 * no test pays from either (tests use accounts 0-2), so the signer's nonces are its own. Deposit addresses
 * come from TEST_MNEMONIC, anvil's own: a test that pays out starts the deposit index past the dev accounts.
 */
const [feeAccount, gasTankAccount] = anvilDevAccounts(10).slice(8);
export const TEST_FEE_ADDRESS = feeAccount?.address as `0x${string}`;
export const TEST_GAS_TANK_KEY = toHex(gasTankAccount?.getHdKey().privateKey ?? new Uint8Array());

let nextTelegramId = 700_000_000 + Math.floor(Math.random() * 1_000_000) * 10;

export async function startPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const db = await createTestDatabase();
  const redisUrl = opts.redisUrl ?? testEnv().redisUrl;
  const prefix = `e2e-${randomBytes(5).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'amanat-e2e-'));
  const [apiPort, workersPort, scannerPort, assistPort, appPort] = await Promise.all([
    findFreePort(),
    findFreePort(),
    findFreePort(),
    findFreePort(),
    findFreePort(),
  ]);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const assistUrl = `http://127.0.0.1:${assistPort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;

  const common: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    RPC_URLS: JSON.stringify(opts.rpcUrls),
    ...(opts.registry ? { ASSET_REGISTRY: JSON.stringify(opts.registry) } : {}),
  };
  const envs: Record<ServiceName, Record<string, string>> = {
    api: {
      ...common,
      API_PORT: String(apiPort),
      APP_ORIGIN: appUrl,
      TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
      TELEGRAM_BOT_USERNAME: 'amanat_test_bot',
      DEPOSIT_XPUB: TEST_XPUB,
      ASSIST_SERVICE_SECRET: TEST_SERVICE_SECRET,
      PAYMENT_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      RATE_LIMIT_IP_PER_MIN: '100000',
      RATE_LIMIT_USER_PER_MIN: '100000',
      ...opts.env?.api,
    },
    workers: {
      ...common,
      WORKERS_HEALTH_PORT: String(workersPort),
      CHECKPOINT_SIGNING_KEY: generateSigningKeyText(),
      CHECKPOINT_FILE: join(tmp, 'checkpoints.jsonl'),
      OUTBOX_POLL_MS: '100',
      MAINTENANCE_INTERVAL_SEC: '1',
      // `all` leaves the payout signer out; these tests run it in the same process.
      WORKERS_ROLES: 'all,payouts',
      DEPOSIT_XPUB: TEST_XPUB,
      PAYOUT_MNEMONIC: TEST_MNEMONIC,
      GAS_TANK_KEY: TEST_GAS_TANK_KEY,
      FEE_ADDRESS: TEST_FEE_ADDRESS,
      ...opts.env?.workers,
    },
    scanner: {
      ...common,
      SCANNER_HEALTH_PORT: String(scannerPort),
      PAYMENT_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      PAYMENT_CALLBACK_URL: `${apiUrl}/api/payment/callback`,
      SCAN_INTERVAL_MS: '200',
      SCAN_COLD_EVERY_TICKS: '5',
      SCAN_CHECKPOINT_DIR: join(tmp, 'scan-checkpoints'),
      ...opts.env?.scanner,
    },
    assist: {
      ...common,
      ASSIST_PORT: String(assistPort),
      API_URL: apiUrl,
      APP_ORIGIN: appUrl,
      ASSIST_SERVICE_SECRET: TEST_SERVICE_SECRET,
      ...opts.env?.assist,
    },
    app: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      APP_PORT: String(appPort),
      APP_HOST: '127.0.0.1',
      PUBLIC_API_URL: apiUrl,
      PUBLIC_DEV_SIGN_IN: 'false',
      ...opts.env?.app,
    },
  };
  const readyUrl: Record<ServiceName, string> = {
    api: `${apiUrl}/readyz`,
    workers: `http://127.0.0.1:${workersPort}/readyz`,
    scanner: `http://127.0.0.1:${scannerPort}/readyz`,
    assist: `${assistUrl}/readyz`,
    app: `${appUrl}/readyz`,
  };
  /** Where each service starts from: its real entry point. */
  const entry = (name: ServiceName) =>
    name === 'app' ? join(root, 'app', 'server.ts') : join(root, name, 'src', 'main.ts');

  const services = new Map<ServiceName, ServiceProcess>();

  async function start(name: ServiceName): Promise<ServiceProcess> {
    const settings = opts.processSettings?.[name];
    if (name === 'app') await ensureAppBuild();
    // The assistant screen shows only when the app knows the proxy; the proxy runs when assist does.
    const assistEnv: Record<string, string> =
      name === 'app' && services.get('assist')?.child.exitCode === null
        ? { PUBLIC_ASSIST_URL: assistUrl }
        : {};
    const child = spawn(NODE, [...(settings?.nodeArgs ?? []), entry(name)], {
      cwd: root,
      env: { ...assistEnv, ...envs[name], ...settings?.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = keepOutput(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const service: ServiceProcess = {
      name,
      child,
      output,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    services.set(name, service);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited at start:\n${output()}`);
      const ok = await fetch(readyUrl[name]).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return service;
      if (Date.now() > deadline) throw new Error(`${name} did not become ready:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const store = new DealStore({ pool: db.pool });
  const call = apiClient(apiUrl);
  const signIn = async (telegramId: number) =>
    (await call('POST', '/api/auth/telegram', null, { initData: testInitData(telegramId) })).token as string;

  const pipeline: Pipeline = {
    db,
    store,
    prefix,
    redisUrl,
    apiUrl,
    assistUrl,
    appUrl,
    services,
    start,
    async startAll() {
      for (const name of ['api', 'workers', 'scanner'] as const) await start(name);
    },
    async restart(name, signal = 'SIGTERM') {
      await services.get(name)?.stop(signal);
      return start(name);
    },
    signIn,
    async startDeal(over = {}) {
      nextTelegramId += 2;
      const [seller, buyer] = await Promise.all([signIn(nextTelegramId), signIn(nextTelegramId + 1)]);
      const created = await call('POST', '/api/deals', seller, {
        title: 'Pipeline test',
        amount: '100',
        asset: { chainId: 31337, token: LOCAL_USDT },
        role: 'seller',
        address: PAYOUT_ADDRESS,
        ...over,
      });
      const id = created.id as string;
      await call('POST', '/api/deals/join', buyer, {
        code: (created.invite as { code: string }).code,
        address: REFUND_ADDRESS,
      });
      await call('POST', `/api/deals/${id}/accept`, seller, {});
      await call('POST', `/api/deals/${id}/accept`, buyer, {});
      const deal = await pipeline.deal(id);
      return {
        id,
        deposit: deal.deposit?.address as `0x${string}`,
        amountDue: deal.quote.amountDue,
        seller,
        buyer,
      };
    },
    async deal(id) {
      const deal = await store.get(id);
      if (!deal) throw new Error(`no deal ${id}`);
      return deal;
    },
    async waitForDeal(id, check, what, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const deal = await pipeline.deal(id);
        if (check(deal)) return deal;
        if (Date.now() > deadline) {
          const out = [...services.values()].map((s) => `--- ${s.name} ---\n${s.output().slice(-6000)}`);
          throw new Error(
            `deal ${id} never became ${what}; it is ${deal.state} (confirmed ${deal.confirmedAmount}, confirming ${deal.confirmingAmount}, review ${deal.needsReview})\n${out.join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await Promise.all([...services.values()].map((s) => s.stop()));
      await db.close();
      const redis = createRedis(redisUrl, 'worker', 'e2e-cleanup');
      await deleteKeysWithPrefix(redis, prefix).catch(() => {});
      redis.disconnect();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  return pipeline;
}

export interface PayoutPipeline extends Pipeline {
  /** The API client of the started system. */
  call: ReturnType<typeof apiClient>;
}

/**
 * The system a payout test runs on anvil: every service started, deposit indexes past anvil's funded dev
 * accounts (TEST_MNEMONIC is anvil's own, so the first indexes would be them), and a block mined every
 * 150 ms, so that payments and payouts reach their confirmations on their own as on a real chain.
 * `close` stops the mining, then the system.
 */
export async function startPayoutPipeline(rpcUrl: string, opts: PipelineOptions): Promise<PayoutPipeline> {
  const p = await startPipeline(opts);
  try {
    await p.db.pool.query(`SELECT setval('deposit_index_seq', 1000, false)`);
    await p.startAll();
  } catch (err) {
    await p.close();
    throw err;
  }
  const { testClient } = chainClients(rpcUrl);
  const miner = setInterval(() => void testClient.mine({ blocks: 1 }).catch(() => {}), 150);
  return {
    ...p,
    call: apiClient(p.apiUrl),
    async close() {
      clearInterval(miner);
      await p.close();
    },
  };
}
