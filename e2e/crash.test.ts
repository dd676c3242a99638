// Crashes in the middle of the payment path: a worker killed (SIGKILL) during a payment job, then a
// private Redis restarted empty during a scan. Whatever is lost is rebuilt from PostgreSQL and the
// scanner's checkpoint, and every deal ends funded exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUEUES, redisKeys, scanQueueName } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../devstack/chain.ts';
import { type RedisServer, spawnRedisServer } from '../devstack/infra.ts';
import { type ChainClients, chainClients, mine, sendToken } from '../devstack/test-chain.ts';
import { type RpcProxy, startRpcProxy } from '../scanner/src/rpc/test-proxy.ts';
import { type Pipeline, startPipeline } from './harness.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const CONFIRMATIONS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dataDir: string;
let redis: RedisServer;
let anvil: AnvilHandle;
let c: ChainClients;
let slowWorkerRpc: RpcProxy;
let slowScannerRpc: RpcProxy;
let p: Pipeline;
/** While set, the workers' receipt reads and the scanner's log reads take this long. */
let workerDelayMs = 0;
let scannerDelayMs = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'amanat-crash-'));
  [redis, anvil] = await Promise.all([spawnRedisServer({ dataDir, persistent: false }), startAnvil()]);
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  slowWorkerRpc = await delaying('eth_getTransactionReceipt', () => workerDelayMs);
  slowScannerRpc = await delaying('eth_getLogs', () => scannerDelayMs);
  p = await startPipeline({
    rpcUrls: { 31337: [anvil.rpcUrl] },
    registry: { chains: { 31337: { confirmations: CONFIRMATIONS } } },
    redisUrl: redis.url,
    env: {
      workers: { RPC_URLS: JSON.stringify({ 31337: [slowWorkerRpc.url] }) },
      scanner: { RPC_URLS: JSON.stringify({ 31337: [slowScannerRpc.url] }) },
    },
  });
  await p.startAll();
}, 120_000);

/** A proxy in front of anvil that holds back one method for as long as `delayMs()` says. */
const delaying = (method: string, delayMs: () => number) =>
  startRpcProxy({
    target: anvil.rpcUrl,
    behaviour: {
      kind: 'intercept',
      handle: async (call) => {
        if (call.method === method && delayMs() > 0) await sleep(delayMs());
        return undefined;
      },
    },
  });

afterAll(async () => {
  await p?.close();
  await Promise.all([slowWorkerRpc?.close(), slowScannerRpc?.close()]);
  await Promise.all([anvil?.stop(), redis?.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A BullMQ queue on the private Redis, for watching jobs. */
async function withQueue<T>(queueName: string, use: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = createRedis(redis.url, 'worker', 'crash-test');
  const queue = new Queue(queueName, { connection, prefix: redisKeys(p.prefix).bullPrefix });
  try {
    return await use(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Polls until a queue has active jobs and returns their ids. */
const untilActive = (queueName: string, what: string) =>
  withQueue(queueName, async (queue) => {
    for (const deadline = Date.now() + 60_000; ; ) {
      const active = await queue.getActive();
      if (active.length > 0) return active.map((j) => String(j.id));
      if (Date.now() > deadline) throw new Error(`no ${what} became active`);
      await sleep(20);
    }
  });

describe('payment pipeline under crashes', () => {
  it('a worker killed mid-job and a Redis restarted empty mid-scan still fund every deal exactly once', async () => {
    const deals = [];
    for (let i = 0; i < 6; i++) deals.push(await p.startDeal());

    // 1. The payments worker dies (SIGKILL) while it verifies payments: its jobs come back to another.
    workerDelayMs = 1500;
    for (const deal of deals.slice(0, 3)) await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await mine(c, CONFIRMATIONS);
    const interrupted = await untilActive(QUEUES.payments, 'payment job');
    await p.restart('workers', 'SIGKILL');
    workerDelayMs = 0;
    for (const deal of deals.slice(0, 3))
      await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded', 60_000);
    // The jobs the kill interrupted are not lost: the restarted worker's stalled-job check takes them
    // back, and they complete against the chain as it is now.
    await withQueue(QUEUES.payments, async (queue) => {
      for (const deadline = Date.now() + 90_000; ; ) {
        const jobs = await Promise.all(interrupted.map((id) => queue.getJob(id)));
        const states = await Promise.all(jobs.map((j) => j?.getState()));
        if (states.every((s) => s === 'completed')) {
          for (const job of jobs) {
            expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
            expect(job?.returnvalue).toMatchObject({ outcome: 'recorded', status: 'confirmed' });
          }
          return;
        }
        if (Date.now() > deadline) throw new Error(`interrupted jobs never completed: ${states.join(', ')}`);
        await sleep(200);
      }
    });

    // 2. Redis dies and comes back empty while the scanner is in the middle of a tick.
    scannerDelayMs = 1500;
    for (const deal of deals.slice(3)) await sendToken(c, USDT, deal.deposit, deal.amountDue);
    await untilActive(scanQueueName(31337), 'scan tick');
    await redis.kill();
    redis = await spawnRedisServer({ dataDir, persistent: false, port: redis.port });
    scannerDelayMs = 0;
    await mine(c, CONFIRMATIONS);

    for (const deal of deals) {
      const funded = await p.waitForDeal(deal.id, (d) => d.state === 'funded', 'funded', 120_000);
      expect(funded).toMatchObject({
        confirmedAmount: deal.amountDue,
        confirmingAmount: 0n,
        needsReview: false,
      });
    }
    // One payment row per deal, and each deal became funded once.
    const { rows } = await p.db.pool.query(
      `SELECT d.id,
         (SELECT count(*)::int FROM payments pm WHERE pm.deal_id = d.id) AS payments,
         (SELECT count(*)::int FROM activity_log a WHERE a.deal_id = d.id AND a.state_after = 'funded'
            AND a.state_before IS DISTINCT FROM 'funded') AS fundings
       FROM deals d WHERE d.id = ANY($1)`,
      [deals.map((d) => d.id)],
    );
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toMatchObject({ payments: 1, fundings: 1 });
    // The restarted Redis got its watch set back from PostgreSQL.
    const check = createRedis(redis.url, 'worker', 'crash-check');
    try {
      const watched = await check.smembers(redisKeys(p.prefix).watchSet(31337));
      for (const deal of deals) expect(watched).toContain(deal.deposit.toLowerCase());
    } finally {
      check.disconnect();
    }
  }, 240_000);
});
