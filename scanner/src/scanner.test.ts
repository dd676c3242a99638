import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadConfig,
  QUEUES,
  redisKeys,
  registryFromConfig,
  type ScannerConfig,
  scannerConfigSchema,
  scanQueueName,
} from '@amanat/core';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../../devstack/chain.ts';
import { type ChainClients, chainClients, mine, sendToken } from '../../devstack/test-chain.ts';
import { createTestRedis, type TestRedis, testEnv, until } from '../../devstack/testing.ts';
import { freshAddress } from './rpc/test-scenario.ts';
import type { BlockRange } from './rpc/types.ts';
import { sentToken, silentLogger } from './scan/testing.ts';
import type { TickReport } from './scan/tick.ts';
import { type ScannerHandle, startScanner } from './scanner.ts';

interface Seen {
  scanner: string;
  report: TickReport;
}

/** Ticks never overlap in time, and the committed block ranges cover every height exactly once. */
function expectSerialAndGapless(seen: readonly Seen[], from: bigint, to: bigint): void {
  const ticks = seen.map((s) => s.report).toSorted((a, b) => a.startedAt - b.startedAt);
  for (const [i, t] of ticks.entries()) {
    const prev = ticks[i - 1];
    if (prev) expect(t.startedAt).toBeGreaterThanOrEqual(prev.finishedAt);
  }
  const ranges: BlockRange[] = ticks.flatMap((t) => t.scanned);
  expect(ranges[0]?.fromBlock).toBe(from);
  for (const [i, r] of ranges.entries()) {
    const prev = ranges[i - 1];
    if (prev) expect(r.fromBlock).toBe(prev.toBlock + 1n);
  }
  expect(ranges.at(-1)?.toBlock).toBe(to);
}

describe('scanner processes sharing a chain', () => {
  let anvil: AnvilHandle;
  let chain: ChainClients;
  let redis: TestRedis;
  let dir: string;
  let config: ScannerConfig;
  const running: ScannerHandle[] = [];

  beforeAll(async () => {
    anvil = await startAnvil();
    await deployDemoTokens(anvil.rpcUrl);
    chain = chainClients(anvil.rpcUrl, anvil.chainId);
    redis = await createTestRedis();
    dir = await mkdtemp(join(tmpdir(), 'scanner-test-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    // Each test runs under a prefix of its own below the file's, which TestRedis.close does not cover.
    let cursor = '0';
    do {
      const [next, keys] = await redis.redis.scan(cursor, 'MATCH', `${redis.prefix}-*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.redis.del(...keys);
    } while (cursor !== '0');
    await redis?.close();
    await anvil?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const configure = async (prefix: string): Promise<ScannerConfig> => {
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    return loadConfig('scanner', scannerConfigSchema, {
      DATABASE_URL: testEnv().databaseUrl,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PAYMENT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      PAYMENT_CALLBACK_URL: 'http://127.0.0.1:9/unused',
      SCAN_INTERVAL_MS: '100',
      SCAN_CHECKPOINT_DIR: join(dir, prefix),
      SCAN_START_BLOCKS: JSON.stringify({ [anvil.chainId]: Number(head) + 1 }),
      RPC_URLS: JSON.stringify({ [anvil.chainId]: [anvil.rpcUrl] }),
      ASSET_REGISTRY: JSON.stringify({ chains: { [anvil.chainId]: { confirmations: 3 } } }),
    });
  };

  const launch = async (
    cfg: ScannerConfig,
    name: string,
    seen: Seen[],
    extra: Partial<Parameters<typeof startScanner>[0]> = {},
  ) => {
    const handle = await startScanner({
      config: cfg,
      registry: registryFromConfig('scanner', cfg),
      logger: silentLogger,
      deliver: false,
      name,
      onTick: (report) => seen.push({ scanner: name, report }),
      ...extra,
    });
    running.push(handle);
    return handle;
  };

  it('runs one tick per chain at a time across processes and scans every block exactly once', async () => {
    config = await configure(`${redis.prefix}-two`);
    const start = BigInt(config.SCAN_START_BLOCKS?.[String(anvil.chainId)] ?? 0);
    const hot = freshAddress();
    await redis.redis.sadd(redisKeys(config.REDIS_PREFIX).watchSet(anvil.chainId), hot);
    const seen: Seen[] = [];
    // Steps slower than the poll interval: without the queue's global concurrency, ticks would overlap.
    const slow = { hooks: { beforeCommit: () => new Promise<void>((r) => setTimeout(r, 150)) } };
    const scanners = [await launch(config, 'a', seen, slow), await launch(config, 'b', seen, slow)];

    const payments = [];
    for (let round = 0; round < 12; round++) {
      payments.push(sentToken(await sendToken(chain, DEMO_TOKENS.usdt.address, hot, BigInt(round + 1))));
      await mine(chain, 2);
      await new Promise((r) => setTimeout(r, 60));
    }
    await mine(chain, 3);
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    await until('the cursor to reach the head', () => seen.some((s) => s.report.cursor === head));
    await Promise.all(running.splice(0).map((s) => s.stop()));

    expectSerialAndGapless(seen, start, head);
    const callbacks = new Queue(QUEUES.callbacks, {
      connection: redis.redis,
      prefix: redisKeys(config.REDIS_PREFIX).bullPrefix,
    });
    const events = (await callbacks.getJobs(['waiting'])).map((j) => JSON.parse(j.data.body));
    await callbacks.close();
    for (const p of payments) {
      const mine = events.filter((e) => e.data.txHash === p.txHash);
      expect(mine.map((e) => e.type).sort()).toEqual(['payment.confirmed', 'payment.detected']);
    }
    expect(events).toHaveLength(payments.length * 2);
    // Two ticks at once would have made one of them lose the state's compare-and-set.
    const stats = scanners.map((s) => s.stats()[anvil.chainId]);
    expect(stats.map((s) => s?.failedTicks)).toEqual([0, 0]);
  });

  it('restores a schedule it lost without a reconnect (the watchdog)', async () => {
    config = await configure(`${redis.prefix}-watchdog`);
    const seen: Seen[] = [];
    await launch(config, 'w', seen);
    await until('a first tick', () => seen.length > 0);
    // What a Redis that restarted mid-tick can leave: no scheduler and no next job, and no 'ready' event.
    const queue = new Queue(scanQueueName(anvil.chainId), {
      connection: redis.redis,
      prefix: redisKeys(config.REDIS_PREFIX).bullPrefix,
    });
    try {
      await queue.removeJobScheduler(scanQueueName(anvil.chainId));
      await queue.drain(true);
      await new Promise((r) => setTimeout(r, 500));
      const before = seen.length;
      await until('ticks to resume', () => seen.length > before + 1, 20_000);
    } finally {
      await queue.close();
    }
  });

  it('moves the chain to another process when the one scanning dies mid-tick', async () => {
    config = await configure(`${redis.prefix}-failover`);
    const start = BigInt(config.SCAN_START_BLOCKS?.[String(anvil.chainId)] ?? 0);
    const seen: Seen[] = [];
    let release: () => void = () => {};
    let hung = false;
    const a = await launch(config, 'a', seen, {
      lockDurationMs: 3_000,
      stalledIntervalMs: 1_000,
      hooks: {
        // Scanner a freezes in the middle of its first step that has blocks: it will never commit it.
        beforeCommit: (step) => {
          if (step.kind !== 'blocks' || hung) return;
          hung = true;
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      },
    });
    await mine(chain, 5);
    await until('scanner a to hang', () => hung);
    // It dies: its lock is no longer renewed.
    running.splice(running.indexOf(a), 1);
    const dying = a.stop({ force: true });
    await launch(config, 'b', seen, { lockDurationMs: 3_000, stalledIntervalMs: 1_000 });
    await mine(chain, 5);
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    await until('scanner b to reach the head', () =>
      seen.some((s) => s.scanner === 'b' && s.report.cursor === head),
    );
    release();
    await dying.catch(() => {});

    expect(seen.filter((s) => s.scanner === 'a' && s.report.scanned.length > 0)).toEqual([]);
    expectSerialAndGapless(seen, start, head);
  });

  it('delivers what it finds to the callback URL, signed with the configured secret', async () => {
    const received: Array<{ type: string; txHash: string; id: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = new Webhook(config.PAYMENT_WEBHOOK_SECRET).verify(
            Buffer.concat(chunks).toString('utf8'),
            req.headers as Record<string, string>,
          ) as { type: string; data: { txHash: string } };
          received.push({ type: body.type, txHash: body.data.txHash, id: String(req.headers['webhook-id']) });
          res.writeHead(202).end();
        } catch {
          res.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = await configure(`${redis.prefix}-deliver`);
      const port = (server.address() as AddressInfo).port;
      config = { ...base, PAYMENT_CALLBACK_URL: `http://127.0.0.1:${port}/api/payment/callback` };
      const hot = freshAddress();
      await redis.redis.sadd(redisKeys(config.REDIS_PREFIX).watchSet(anvil.chainId), hot);
      await launch(config, 'a', [], { deliver: true });
      const payment = sentToken(await sendToken(chain, DEMO_TOKENS.usdc.address, hot, 10n ** 18n));
      await mine(chain, 3);
      await until('both events at the API', () => received.length >= 2);
      expect(received.map((r) => `${r.type}:${r.txHash}`).sort()).toEqual([
        `payment.confirmed:${payment.txHash}`,
        `payment.detected:${payment.txHash}`,
      ]);
      expect(new Set(received.map((r) => r.id)).size).toBe(2);
    } finally {
      await Promise.all(running.splice(0).map((s) => s.stop()));
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
