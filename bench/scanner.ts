// bench:scanner — the chain scanner on anvil: 2,000 blocks holding 20,000 token transfers (1,000 of them
// to 10,000 watched addresses), scanned from before the first one. Prints catch-up speed, RPC calls per
// block in catch-up and at the head (counted by a proxy in front of anvil), confirmation-to-funded
// latency through the real api / workers / scanner processes, and the scanner's peak RSS, each next to
// its target. Exits non-zero only when a payment was missed or reported twice.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import {
  type AnvilHandle,
  anvilDevAccounts,
  DEMO_TOKENS,
  deployDemoTokens,
  startAnvil,
} from '../devstack/chain.ts';
import type { TickReport } from '../scanner/src/index.ts';
import { type RpcProxy, startRpcProxy } from '../scanner/src/rpc/test-proxy.ts';
import {
  blockNumber,
  type ExpectedPayment,
  expectedPayments,
  type Hex,
  Nonces,
  randomAddress,
  rpc,
  type Seeded,
  seedTransfers,
  sendTransfers,
  type Transfer,
  toQuantity,
} from './scanner-chain.ts';
import { type EventCheck, waitAndCheckEvents } from './scanner-events.ts';
import { benchFundingLatency, deleteKeys, type FundingLatency } from './scanner-pipeline.ts';
import { type ScannerRunner, startScannerRunner } from './scanner-process.ts';
import { median, percentile } from './stats.ts';

const CHAIN_ID = 31337;
const WATCHED = 10_000;
const PLAN = {
  blocks: 2_000,
  tokenTransfersPerBlock: 10,
  watchedTokenTransfers: 1_000,
  // Plus 500 native transfers (one every 4 blocks), 50 of them to watched addresses.
  nativeEveryBlocks: 4,
  nativeWatchedEvery: 10,
};
/** The local chain's default confirmation count in the registry, stated so the bench does not drift. */
const CONFIRMATIONS = 2;
const SCAN_INTERVAL_MS = 1_000;
const BLOCK_TIME_SEC = 1;
const CATCH_UP_ROUNDS = 3;
const HEAD_BLOCKS = 30;
const HEAD_TRANSFERS_PER_BLOCK = 3;
const FUNDING_ROUNDS = 10;
const DEALS_PER_ROUND = 4;
const TARGET = {
  catchUpBlocksPerSec: 500,
  headCallsPerBlock: 3,
  fundedP99Ms: SCAN_INTERVAL_MS + 250,
};

const log = (m: string) => console.log(`[bench:scanner] ${m}`);

interface RpcCounts {
  calls: number;
  requests: number;
  byMethod: Map<string, number>;
}
const countsOf = (proxy: RpcProxy): RpcCounts => ({
  calls: proxy.calls,
  requests: proxy.requests,
  byMethod: new Map(proxy.callsByMethod),
});
const perBlock = (c: RpcCounts, blocks: number) =>
  [...c.byMethod]
    .sort((a, b) => b[1] - a[1])
    .map(([m, n]) => `${m} ${(n / blocks).toFixed(3)}`)
    .join(', ');

interface CatchUp {
  blocks: number;
  ms: number;
  blocksPerSec: number;
  ticks: number;
  rpc: RpcCounts;
  events: EventCheck;
  peakRssMb: number;
}

interface Head {
  blocks: number;
  ticks: number;
  idleTicks: number;
  rpc: RpcCounts;
  payments: number;
}

interface Deployment {
  prefix: string;
  checkpointDir: string;
}

/** The scanner's environment for one deployment (prefix), reading the chain through the proxy. */
function scannerEnv(
  env: { databaseUrl: string; redisUrl: string },
  d: Deployment,
  rpcUrl: string,
  startBlock: bigint,
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: d.prefix,
    // Delivery is off in the runner: the bench reads the callbacks queue itself.
    PAYMENT_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    PAYMENT_CALLBACK_URL: 'http://127.0.0.1:9/unused',
    SCAN_INTERVAL_MS: String(SCAN_INTERVAL_MS),
    SCAN_CHECKPOINT_DIR: d.checkpointDir,
    SCAN_START_BLOCKS: JSON.stringify({ [CHAIN_ID]: Number(startBlock) }),
    RPC_URLS: JSON.stringify({ [CHAIN_ID]: [rpcUrl] }),
    ASSET_REGISTRY: JSON.stringify({ chains: { [CHAIN_ID]: { confirmations: CONFIRMATIONS } } }),
  };
}

async function watch(redisUrl: string, prefix: string, addresses: readonly Hex[]): Promise<void> {
  const redis = createRedis(redisUrl, 'worker', 'bench-watch');
  try {
    const key = redisKeys(prefix).watchSet(CHAIN_ID);
    for (let i = 0; i < addresses.length; i += 1_000) {
      await redis.sadd(key, ...addresses.slice(i, i + 1_000).map((a) => a.toLowerCase()));
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts a scanner with a fresh cursor before the seeded range and times it to the head. Through the
 * counting proxy unless `proxy` is null (then straight at `rpcUrl`, with no counts).
 */
async function catchUp(
  env: { databaseUrl: string; redisUrl: string },
  d: Deployment,
  rpcUrl: string,
  proxy: RpcProxy | null,
  seeded: Seeded,
  head: bigint,
): Promise<{ result: Omit<CatchUp, 'events' | 'peakRssMb'>; runner: ScannerRunner }> {
  proxy?.resetCounts();
  const runner = await startScannerRunner(scannerEnv(env, d, proxy?.url ?? rpcUrl, seeded.firstBlock));
  try {
    const reached = await runner.waitForTick((t) => t.cursor >= head && t.cursor === t.head, 'catch-up');
    const rpc = proxy ? countsOf(proxy) : { calls: Number.NaN, requests: Number.NaN, byMethod: new Map() };
    const first = runner.ticks[0] as TickReport;
    const blocks = Number(reached.cursor - seeded.firstBlock + 1n);
    const ms = reached.finishedAt - first.startedAt;
    return {
      result: { blocks, ms, blocksPerSec: blocks / (ms / 1000), ticks: runner.ticks.length, rpc },
      runner,
    };
  } catch (err) {
    console.error(runner.output().slice(-4000));
    await runner.stop();
    throw err;
  }
}

/**
 * Interval mining with a few transfers in every block: the RPC calls the scanner makes per new block,
 * counted from a tick that found it at the head to one that finds it at the head again, blocks later.
 */
async function atHead(
  runner: ScannerRunner,
  proxy: RpcProxy,
  rpcUrl: string,
  watched: readonly Hex[],
): Promise<{ result: Head; expected: ExpectedPayment[] }> {
  const before = await blockNumber(rpcUrl);
  await rpc(rpcUrl, 'evm_setIntervalMining', [BLOCK_TIME_SEC]);
  const start = await runner.waitForTick((t) => t.head > before && t.cursor === t.head, 'the head', {
    from: runner.ticks.length,
    ms: 30_000,
  });
  proxy.resetCounts();
  const from = runner.ticks.length;
  const h0 = start.cursor;

  const senders = anvilDevAccounts().map((a) => a.address as Hex);
  const nonces = new Nonces();
  await nonces.load(rpcUrl, senders);
  const tokens = [DEMO_TOKENS.usdt.address, DEMO_TOKENS.usdc.address] as Hex[];
  const sent: Array<{ hash: Hex; transfer: Transfer }> = [];
  let last = await blockNumber(rpcUrl);
  for (let b = 0; b < HEAD_BLOCKS; b++) {
    while ((await blockNumber(rpcUrl)) === last) await new Promise((r) => setTimeout(r, 20));
    last = await blockNumber(rpcUrl);
    const transfers: Transfer[] = Array.from({ length: HEAD_TRANSFERS_PER_BLOCK }, (_, k) => ({
      from: senders[(b * HEAD_TRANSFERS_PER_BLOCK + k) % senders.length] as Hex,
      to: k === 0 ? (watched[b % watched.length] as Hex) : randomAddress(),
      token: tokens[(b + k) % tokens.length] as Hex,
      amount: BigInt(1 + b),
      watched: k === 0,
    }));
    const hashes = await sendTransfers(rpcUrl, transfers, nonces);
    for (const [i, hash] of hashes.entries()) sent.push({ hash, transfer: transfers[i] as Transfer });
  }
  // Until the last transfers are mined and confirmed, and the scanner is at the head again.
  const lastPaymentBlock = last + 1n;
  const end = await runner.waitForTick(
    (t) => t.cursor === t.head && t.cursor >= lastPaymentBlock + BigInt(CONFIRMATIONS - 1),
    'the head after the head phase',
    { from, ms: 30_000 },
  );
  const counts = countsOf(proxy);
  const window = runner.ticks.slice(from, runner.ticks.indexOf(end) + 1);
  const expected = await expectedPayments(rpcUrl, sent);
  return {
    result: {
      blocks: Number(end.cursor - h0),
      ticks: window.length,
      idleTicks: window.filter((t) => t.idle).length,
      rpc: counts,
      payments: expected.length,
    },
    expected,
  };
}

export async function benchScanner(env: { databaseUrl: string; redisUrl: string }): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'amanat-bench-scan-'));
  const prefixes: string[] = [];
  let anvil: AnvilHandle | null = null;
  let proxy: RpcProxy | null = null;
  let runner: ScannerRunner | null = null;
  try {
    anvil = await startAnvil();
    await deployDemoTokens(anvil.rpcUrl);
    const watched = Array.from({ length: WATCHED }, randomAddress);
    log(
      `seeding ${PLAN.blocks} blocks of ${PLAN.tokenTransfersPerBlock} token transfers (automine off, batched)`,
    );
    const seeded = await seedTransfers(anvil.rpcUrl, {
      plan: PLAN,
      senders: anvilDevAccounts().map((a) => a.address as Hex),
      tokens: [DEMO_TOKENS.usdt.address, DEMO_TOKENS.usdc.address] as Hex[],
      watched,
    });
    // Confirms the payments in the last seeded blocks, so catch-up alone must report every event.
    await rpc(anvil.rpcUrl, 'anvil_mine', [toQuantity(CONFIRMATIONS)]);
    const head = await blockNumber(anvil.rpcUrl);
    log(
      `seeded blocks ${seeded.firstBlock}..${seeded.lastBlock} in ${(seeded.ms / 1000).toFixed(1)} s: ` +
        `${seeded.tokenTransfers} token + ${seeded.nativeTransfers} native transfers, ` +
        `${seeded.expected.length} of them to watched addresses; head ${head}`,
    );
    proxy = await startRpcProxy({ target: anvil.rpcUrl });

    const catchUps: CatchUp[] = [];
    let headPhase: Head | null = null;
    let finalEvents: EventCheck | null = null;
    let headRssMb = Number.NaN;
    const deployment = (name: string): Deployment => {
      const d = { prefix: `bench-scan-${randomBytes(4).toString('hex')}`, checkpointDir: join(tmp, name) };
      prefixes.push(d.prefix);
      return d;
    };
    for (let round = 1; round <= CATCH_UP_ROUNDS; round++) {
      const d = deployment(`round-${round}`);
      await watch(env.redisUrl, d.prefix, watched);
      const started = await catchUp(env, d, anvil.rpcUrl, proxy, seeded, head);
      runner = started.runner;
      const events = await waitAndCheckEvents(env.redisUrl, d.prefix, seeded.expected);
      const r = { ...started.result, events, peakRssMb: runner.peakRssMb() };
      log(
        `catch-up round ${round}: ${r.blocks} blocks in ${(r.ms / 1000).toFixed(2)} s (${r.ticks} tick(s)) = ` +
          `${r.blocksPerSec.toFixed(0)} blocks/s; ${(r.rpc.calls / r.blocks).toFixed(2)} calls/block; ` +
          `events ${events.byType['payment.detected']} detected, ${events.byType['payment.confirmed']} confirmed; ` +
          `peak RSS ${r.peakRssMb.toFixed(0)} MB`,
      );
      catchUps.push(r);
      if (round === CATCH_UP_ROUNDS) {
        log(
          `at the head: interval mining every ${BLOCK_TIME_SEC} s, ${HEAD_TRANSFERS_PER_BLOCK} transfers a block`,
        );
        const h = await atHead(runner, proxy, anvil.rpcUrl, watched);
        headPhase = h.result;
        headRssMb = runner.rssMb();
        finalEvents = await waitAndCheckEvents(env.redisUrl, d.prefix, [...seeded.expected, ...h.expected]);
        r.peakRssMb = runner.peakRssMb();
      }
      await runner.stop();
      runner = null;
    }
    if (!headPhase || !finalEvents) throw new Error('the head phase did not run');

    // Once more straight at anvil, for information: what the counting proxy (in this process) costs.
    const d = deployment('direct');
    await watch(env.redisUrl, d.prefix, watched);
    const direct = await catchUp(env, d, anvil.rpcUrl, null, seeded, head);
    runner = direct.runner;
    log(`catch-up without the proxy: ${direct.result.blocksPerSec.toFixed(0)} blocks/s`);
    await runner.stop();
    runner = null;

    log(
      `confirmation to funded: api + workers + scanner processes, ${FUNDING_ROUNDS} rounds of ${DEALS_PER_ROUND} deals`,
    );
    const funding = await benchFundingLatency({
      databaseUrl: env.databaseUrl,
      redisUrl: env.redisUrl,
      rpcUrl: anvil.rpcUrl,
      chainId: CHAIN_ID,
      confirmations: CONFIRMATIONS,
      scanIntervalMs: SCAN_INTERVAL_MS,
      blockTimeSec: BLOCK_TIME_SEC,
      rounds: FUNDING_ROUNDS,
      dealsPerRound: DEALS_PER_ROUND,
      token: DEMO_TOKENS.usdt.address as Hex,
      payers: anvilDevAccounts(9)
        .slice(1)
        .map((a) => a.address as Hex),
      log,
    });

    const failed = report({
      seeded,
      catchUps,
      directBlocksPerSec: direct.result.blocksPerSec,
      head: headPhase,
      headRssMb,
      finalEvents,
      funding,
    });
    if (failed) process.exitCode = 1;
  } finally {
    await runner?.stop();
    await proxy?.close();
    await anvil?.stop();
    for (const prefix of prefixes) await deleteKeys(env.redisUrl, prefix).catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Prints the figures next to their targets; true when a payment was missed or reported twice. */
function report(r: {
  seeded: Seeded;
  catchUps: readonly CatchUp[];
  directBlocksPerSec: number;
  head: Head;
  headRssMb: number;
  finalEvents: EventCheck;
  funding: FundingLatency;
}): boolean {
  const { seeded, catchUps, head, finalEvents, funding } = r;
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');

  const speeds = catchUps.map((c) => c.blocksPerSec);
  const speed = median(speeds);
  const catchUpCalls = median(catchUps.map((c) => c.rpc.calls / c.blocks));
  const catchUpRequests = median(catchUps.map((c) => c.rpc.requests / c.blocks));
  const headCalls = head.rpc.calls / head.blocks;
  const samples = funding.rounds.flat();
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const rss = Math.max(...catchUps.map((c) => c.peakRssMb));

  const checks = [...catchUps.map((c) => c.events), finalEvents];
  const missed = checks.reduce((n, c) => n + c.missed.length, 0) + funding.missed.length;
  const duplicated = checks.reduce((n, c) => n + c.duplicated.length, 0) + funding.duplicated.length;
  const unexpected = checks.reduce((n, c) => n + c.unexpected.length, 0);
  const reorged = checks.reduce((n, c) => n + c.byType['payment.reorged'], 0);
  const correct = missed === 0 && duplicated === 0 && unexpected === 0 && reorged === 0;

  const row = (name: string, value: string, target = '', verdict = '') =>
    console.log(`  ${name.padEnd(44)} ${value.padEnd(16)} ${target.padEnd(12)} ${verdict}`.trimEnd());
  const note = (text: string) => console.log(`      ${text}`);
  const last = catchUps.at(-1) as CatchUp;
  const mb = (x: number) => x.toFixed(0);

  console.log(
    `\nbench:scanner (anvil; ${WATCHED} watched addresses; blocks ${seeded.firstBlock}..${seeded.lastBlock}: ` +
      `${seeded.tokenTransfers} USDT/USDC transfers + ${seeded.nativeTransfers} native, ` +
      `${seeded.expected.length} to watched addresses; scan interval ${SCAN_INTERVAL_MS} ms, ` +
      `${CONFIRMATIONS} confirmations)`,
  );
  row('', 'figure', 'target');
  row(
    `catch-up speed (median of ${catchUps.length} rounds)`,
    `${speed.toFixed(0)} blocks/s`,
    `>= ${TARGET.catchUpBlocksPerSec}`,
    ok(speed >= TARGET.catchUpBlocksPerSec),
  );
  note(
    `rounds: ${speeds.map((x) => x.toFixed(0)).join(', ')} blocks/s; ` +
      `straight at anvil, without the counting proxy: ${r.directBlocksPerSec.toFixed(0)} blocks/s (one round)`,
  );
  row('RPC calls per scanned block, catch-up', catchUpCalls.toFixed(2));
  note(`${catchUpRequests.toFixed(3)} HTTP requests/block; per block: ${perBlock(last.rpc, last.blocks)}`);
  row(
    'RPC calls per new block at the head',
    headCalls.toFixed(2),
    `<= ${TARGET.headCallsPerBlock}`,
    ok(headCalls <= TARGET.headCallsPerBlock),
  );
  note(
    `${head.blocks} blocks (${head.payments} payments to watched addresses among their transfers), ` +
      `${head.ticks} ticks (${head.idleTicks} idle), ` +
      `${(head.rpc.requests / head.blocks).toFixed(2)} HTTP requests/block; per block: ${perBlock(head.rpc, head.blocks)}`,
  );
  row('confirmation to funded, p50', `${p50.toFixed(0)} ms`);
  row(
    `confirmation to funded, p99 (${samples.length} payments)`,
    `${p99.toFixed(0)} ms`,
    `< ${TARGET.fundedP99Ms} ms`,
    ok(p99 < TARGET.fundedP99Ms),
  );
  note(
    `per round (p50/max, ms): ${funding.rounds
      .map((xs) => `${median(xs).toFixed(0)}/${Math.max(...xs).toFixed(0)}`)
      .join(', ')}`,
  );
  row('scanner peak RSS', `${mb(rss)} MB`);
  note(
    `per catch-up round: ${catchUps.map((c) => mb(c.peakRssMb)).join(', ')} MB (the last includes the head ` +
      `phase); RSS at the head ${mb(r.headRssMb)} MB; in the pipeline: scanner ${mb(funding.peakRssMb.scanner)}, ` +
      `api ${mb(funding.peakRssMb.api)}, workers ${mb(funding.peakRssMb.workers)} MB`,
  );
  row('missed / duplicated payments', `${missed} / ${duplicated}`, '0 / 0', correct ? 'ok' : 'FAILED');
  if (unexpected > 0 || reorged > 0) note(`unexpected events: ${unexpected}, reorged events: ${reorged}`);
  for (const line of [
    ...checks.flatMap((c) => [...c.missed, ...c.duplicated, ...c.unexpected]),
    ...funding.missed,
    ...funding.duplicated,
  ].slice(0, 20)) {
    note(line);
  }
  return !correct;
}
