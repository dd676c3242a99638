// bench:scanner's end-to-end figure: api, workers and scanner as real processes (their own entry points,
// production settings) on a schema and Redis prefix of their own, deals created and accepted over the
// API, paid on anvil under interval mining. Per payment: from the moment the block that gives it its
// confirmation count appears on the node to the moment PostgreSQL shows the deal funded.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyText } from '@amanat/core';
import { createPool, createRedis, migrate } from '@amanat/platform';
import { english, generateMnemonic } from 'viem/accounts';
import { secretKeyFor, signInitData } from '../api/src/auth/telegram-init-data.ts';
import { apiClient } from '../devstack/api-client.ts';
import { findFreePort } from '../devstack/ports.ts';
import { accountXpub } from '../devstack/secrets.ts';
import { deleteKeysWithPrefix } from '../devstack/testing.ts';
import { SCANNER_PROCESS } from '../scanner/src/process-settings.ts';
import { type Hex, Nonces, rpc, rpcBatch, sendTransfers } from './scanner-chain.ts';
import { benchServicesEnv, type ServiceProcess, startBenchApi, startService } from './scanner-process.ts';

const BOT_TOKEN = '7000003:AAH-bench-token-for-amanat-scan-bench_0123456789';
/** Party addresses outside any mnemonic the bench uses, so none can be a deposit address. */
const PAYOUT_ADDRESS = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045';
const REFUND_ADDRESS = '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B';
const POLL_MS = 10;
const ROUND_DEADLINE_MS = 30_000;

export interface FundingLatencyOptions {
  databaseUrl: string;
  redisUrl: string;
  /** The node every service reads (anvil, directly). */
  rpcUrl: string;
  chainId: number;
  confirmations: number;
  scanIntervalMs: number;
  /** anvil's interval mining, seconds. */
  blockTimeSec: number;
  rounds: number;
  dealsPerRound: number;
  token: Hex;
  payers: readonly Hex[];
  log: (m: string) => void;
}

export interface FundingLatency {
  /** Confirmation-to-funded per payment, ms, per round. */
  rounds: number[][];
  /** Deals never funded, or funded with another amount than paid. */
  missed: string[];
  /** Deals with more than one payment recorded for the one payment made. */
  duplicated: string[];
  peakRssMb: Record<'api' | 'workers' | 'scanner', number>;
}

interface OpenDeal {
  id: string;
  deposit: Hex;
  amountDue: bigint;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `step` every POLL_MS until stopped; the first failure ends the loop and is thrown by stop(). */
function poll(step: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await step();
      await sleep(POLL_MS);
    }
  })();
  let failure: unknown = null;
  loop.catch((err: unknown) => {
    failure = err;
  });
  return {
    async stop() {
      running = false;
      await loop.catch(() => {});
      if (failure) throw failure;
    },
  };
}

/** Telegram Mini App init data signed with the bench's bot token, as Telegram would sign it. */
const initData = (telegramId: number) =>
  signInitData(
    {
      auth_date: String(Math.floor(Date.now() / 1000)),
      query_id: `q${telegramId}`,
      user: JSON.stringify({ id: telegramId, first_name: `Bench ${telegramId}` }),
    },
    secretKeyFor(BOT_TOKEN),
  );

/** Records when each block number first appears on the node, polling eth_blockNumber. */
function watchBlocks(rpcUrl: string) {
  const seenAt = new Map<bigint, number>();
  let last = -1n;
  const loop = poll(async () => {
    const head = BigInt(await rpc<string>(rpcUrl, 'eth_blockNumber'));
    const now = performance.now();
    if (last < 0n) last = head;
    for (let n = last + 1n; n <= head; n++) seenAt.set(n, now);
    if (head > last) last = head;
  });
  return { seenAt, head: () => last, stop: loop.stop };
}

/** Records when each deal first shows as funded in PostgreSQL, polling the deals table. */
function watchFunding(pool: ReturnType<typeof createPool>) {
  const fundedAt = new Map<string, number>();
  const pending = new Set<string>();
  const loop = poll(async () => {
    if (pending.size === 0) return;
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM deals WHERE id = ANY($1::uuid[]) AND state = 'funded'`,
      [[...pending]],
    );
    const now = performance.now();
    for (const { id } of rows) {
      fundedAt.set(id, now);
      pending.delete(id);
    }
  });
  return {
    fundedAt,
    watch: (ids: readonly string[]) => {
      for (const id of ids) pending.add(id);
    },
    stop: loop.stop,
  };
}

export async function benchFundingLatency(opts: FundingLatencyOptions): Promise<FundingLatency> {
  const { log } = opts;
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const prefix = `bench-e2e-${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'amanat-bench-scanner-'));
  await migrate({ connectionString: opts.databaseUrl, schema });
  const pool = createPool({ connectionString: opts.databaseUrl, schema, max: 4 });
  const [apiPort, workersPort, scannerPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const common = benchServicesEnv({
    databaseUrl: opts.databaseUrl,
    schema,
    redisUrl: opts.redisUrl,
    prefix,
    chainId: opts.chainId,
    rpcUrl: opts.rpcUrl,
    confirmations: opts.confirmations,
  });
  const services: ServiceProcess[] = [];
  const blocks = watchBlocks(opts.rpcUrl);
  const funding = watchFunding(pool);
  try {
    services.push(
      await startBenchApi({
        common,
        port: apiPort,
        botToken: BOT_TOKEN,
        depositXpub: accountXpub(generateMnemonic(english)),
        webhookSecret,
      }),
      await startService({
        name: 'workers',
        entry: 'workers/src/main.ts',
        env: {
          ...common,
          WORKERS_HEALTH_PORT: String(workersPort),
          CHECKPOINT_SIGNING_KEY: generateSigningKeyText(),
          CHECKPOINT_FILE: join(tmp, 'checkpoints.jsonl'),
        },
        readyUrl: `http://127.0.0.1:${workersPort}/readyz`,
      }),
      await startService({
        name: 'scanner',
        entry: 'scanner/src/main.ts',
        nodeArgs: SCANNER_PROCESS.nodeArgs,
        env: {
          ...common,
          ...SCANNER_PROCESS.env,
          SCANNER_HEALTH_PORT: String(scannerPort),
          PAYMENT_WEBHOOK_SECRET: webhookSecret,
          PAYMENT_CALLBACK_URL: `${apiUrl}/api/payment/callback`,
          SCAN_INTERVAL_MS: String(opts.scanIntervalMs),
          SCAN_CHECKPOINT_DIR: join(tmp, 'scan-checkpoints'),
        },
        readyUrl: `http://127.0.0.1:${scannerPort}/readyz`,
      }),
    );

    const call = apiClient(apiUrl);
    const telegramId = 800_000_000 + Math.floor(Math.random() * 1_000_000) * 2;
    const signIn = async (id: number) =>
      (await call('POST', '/api/auth/telegram', null, { initData: initData(id) })).token as string;
    const [seller, buyer] = await Promise.all([signIn(telegramId), signIn(telegramId + 1)]);
    const openDeal = async (): Promise<OpenDeal> => {
      const created = await call('POST', '/api/deals', seller, {
        title: 'Bench payment',
        amount: '100',
        asset: { chainId: opts.chainId, token: opts.token },
        role: 'seller',
        address: PAYOUT_ADDRESS,
      });
      const id = created.id as string;
      const code = (created.invite as { code: string }).code;
      await call('POST', '/api/deals/join', buyer, { code, address: REFUND_ADDRESS });
      await call('POST', `/api/deals/${id}/accept`, seller, {});
      const view = await call('POST', `/api/deals/${id}/accept`, buyer, {});
      if (view.state !== 'awaiting_payment' || typeof view.depositAddress !== 'string') {
        throw new Error(`deal ${id} is not awaiting payment: ${JSON.stringify(view)}`);
      }
      return { id, deposit: view.depositAddress as Hex, amountDue: BigInt(view.amountDue as string) };
    };
    const deals: OpenDeal[] = [];
    // One more round first, not counted: a cold process (JIT, first connections) is not the steady state.
    for (let i = 0; i < (opts.rounds + 1) * opts.dealsPerRound; i++) deals.push(await openDeal());
    log(`${deals.length} deals awaiting payment over the API; paying ${opts.dealsPerRound} a block`);

    const nonces = new Nonces();
    await nonces.load(opts.rpcUrl, opts.payers);
    const rounds: number[][] = [];
    const missed: string[] = [];
    for (let r = 0; r <= opts.rounds; r++) {
      const batch = deals.slice(r * opts.dealsPerRound, (r + 1) * opts.dealsPerRound);
      // Blocks and scan ticks both come once a period; re-arming the block timer at a random offset makes
      // each round meet the scanner's schedule at another phase.
      await sleep(Math.random() * opts.scanIntervalMs);
      await rpc(opts.rpcUrl, 'evm_setIntervalMining', [opts.blockTimeSec]);
      // Sent just after a block, so they wait in the pool for the next one together.
      const head = blocks.head();
      const noBlockBy = performance.now() + 10_000 * opts.blockTimeSec;
      while (blocks.head() === head) {
        if (performance.now() > noBlockBy) throw new Error('anvil mined no block under interval mining');
        await sleep(POLL_MS);
      }
      funding.watch(batch.map((d) => d.id));
      const hashes = await sendTransfers(
        opts.rpcUrl,
        batch.map((d, i) => ({
          from: opts.payers[i % opts.payers.length] as Hex,
          to: d.deposit,
          token: opts.token,
          amount: d.amountDue,
          watched: true,
        })),
        nonces,
      );
      const deadline = performance.now() + ROUND_DEADLINE_MS;
      while (batch.some((d) => !funding.fundedAt.has(d.id)) && performance.now() < deadline) {
        await sleep(POLL_MS);
      }
      const receipts = await rpcBatch<{ blockNumber: string; status: string } | null>(
        opts.rpcUrl,
        hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })),
      );
      const samples: number[] = [];
      const paidIn: string[] = [];
      for (const [i, deal] of batch.entries()) {
        const receipt = receipts[i];
        const funded = funding.fundedAt.get(deal.id);
        if (receipt?.status !== '0x1' || funded === undefined) {
          missed.push(`deal ${deal.id} (tx ${hashes[i]}) not funded within ${ROUND_DEADLINE_MS} ms`);
          continue;
        }
        const confirmingBlock = BigInt(receipt.blockNumber) + BigInt(opts.confirmations - 1);
        const appeared = blocks.seenAt.get(confirmingBlock);
        if (appeared === undefined) throw new Error(`block ${confirmingBlock} was never seen`);
        samples.push(funded - appeared);
        paidIn.push(BigInt(receipt.blockNumber).toString());
      }
      if (r > 0) rounds.push(samples);
      log(
        `${r === 0 ? 'warm-up round' : `round ${r}/${opts.rounds}`}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms ` +
          `(confirmation to funded; paid in block ${[...new Set(paidIn)].join(', ')})`,
      );
    }

    // A poller that failed would have left figures missing: its error is the answer then.
    await blocks.stop();
    await funding.stop();
    // Exactly one payment row per deal, confirmed and counted, for exactly what was paid.
    const { rows } = await pool.query<{ id: string; state: string; paid: string; due: string; n: number }>(
      `SELECT d.id, d.state, d.confirmed_amount::text AS paid, d.amount_due::text AS due,
              count(p.id)::int AS n
         FROM deals d LEFT JOIN payments p ON p.deal_id = d.id AND p.status = 'confirmed'
        WHERE d.id = ANY($1::uuid[]) GROUP BY d.id`,
      [deals.map((d) => d.id)],
    );
    const duplicated = rows.filter((row) => row.n > 1).map((row) => `deal ${row.id}: ${row.n} payments`);
    for (const row of rows) {
      if (row.state !== 'funded' || row.paid !== row.due) {
        const line = `deal ${row.id}: ${row.state}, confirmed ${row.paid} of ${row.due}`;
        if (!missed.some((m) => m.includes(row.id))) missed.push(line);
      }
    }
    const [api, workers, scanner] = services;
    return {
      rounds,
      missed,
      duplicated,
      peakRssMb: {
        api: api?.peakRssMb() ?? Number.NaN,
        workers: workers?.peakRssMb() ?? Number.NaN,
        scanner: scanner?.peakRssMb() ?? Number.NaN,
      },
    };
  } catch (err) {
    for (const s of services) console.error(`--- ${s.name} ---\n${s.output().slice(-3000)}`);
    throw err;
  } finally {
    await Promise.allSettled([blocks.stop(), funding.stop()]);
    await Promise.all(services.map((s) => s.stop()));
    await pool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await pool.end();
    await deleteKeys(opts.redisUrl, prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes every key under a prefix. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url, 'worker', 'bench-cleanup');
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
