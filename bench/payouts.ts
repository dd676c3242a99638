// bench:payouts — the payout signer's throughput: 500 funded deals released at once on anvil under 1-second
// interval mining, with the api, workers (every role, the payout signer included) and scanner (whose view
// of the outgoing transfers confirms each payout) as real processes with their production settings, the
// workers' and the scanner's RPC each through a proxy that counts every call. Prints deals released and
// payout transactions per minute, RPC calls per payout, the duplicate check (every leg paid by exactly one
// mined transaction, the chain's balances and nonces equal to the ledger), the gas top-ups and the peak RSS
// next to the targets. Exits non-zero when a deal is not released or anything was paid twice.
//
// Set-up, not measured: the deals are created and accepted through the DealStore (the API's own deposit
// address deriver over the signer's xpub), their deposit addresses are funded on chain in bulk (the demo
// USDT owner mints each its amount due: two blocks for all 500), and each mint is recorded through
// recordPayments, the path the payments worker takes once the scanner reports a payment. Measured: the
// buyers' confirmations over the API (all 500 at once) until every deal is `released`. The scanner starts
// after the funding, at the head, so it reports the gas top-ups (as in production), not the mints.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Actor, generateSigningKeyText } from '@amanat/core';
import { createPool, DealStore, migrate, type Pool, recordPayments } from '@amanat/platform';
import { type Address, encodeFunctionData, erc20Abi, parseAbi, toHex } from 'viem';
import { secretKeyFor, signInitData } from '../api/src/auth/telegram-init-data.ts';
import { depositAddressDeriver } from '../api/src/deals/deposit-address.ts';
import { apiClient } from '../devstack/api-client.ts';
import {
  ANVIL_MNEMONIC,
  anvilDevAccounts,
  DEMO_TOKENS,
  deployDemoTokens,
  startAnvil,
} from '../devstack/chain.ts';
import { findFreePort } from '../devstack/ports.ts';
import { accountXpub } from '../devstack/secrets.ts';
import { newDealInput } from '../platform/src/deals/test-fixtures.ts';
import { SCANNER_PROCESS } from '../scanner/src/process-settings.ts';
import { type RpcProxy, startRpcProxy } from '../scanner/src/rpc/test-proxy.ts';
import { WORKERS_PROCESS } from '../workers/src/process-settings.ts';
import { type Hex, rpc, rpcBatch, toQuantity } from './scanner-chain.ts';
import { deleteKeys } from './scanner-pipeline.ts';
import { benchServicesEnv, type ServiceProcess, startBenchApi, startService } from './scanner-process.ts';

const CHAIN_ID = 31337;
const DEALS = 500;
const BLOCK_TIME_SEC = 1;
/** The local chain's default confirmation count in the registry, stated so the bench does not drift. */
const CONFIRMATIONS = 2;
/** Store clients creating and funding the deals, and API clients sending the confirmations. */
const SETUP_CLIENTS = 16;
const RELEASE_CLIENTS = 32;
const PAYOUT_DEADLINE_MS = 180_000;
const TARGET = { payoutsPerMin: 300 };
const BOT_TOKEN = '7000004:AAH-bench-token-for-amanat-payout-bench_0123456789';
/** Party addresses outside anvil's mnemonic (the signer's deposit key here), so none is a deposit address. */
const SELLER_ADDRESS = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045';
const BUYER_ADDRESS = '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B';
const USDT = DEMO_TOKENS.usdt.address as Hex;
/** Dev account 0 owns the demo tokens (it mints); 8 takes the fee; 9 is the gas tank. */
const [deployer, feeAccount, gasTankAccount] = anvilDevAccounts(10).filter((_, i) => [0, 8, 9].includes(i));
const FEE_ADDRESS = feeAccount?.address as Address;
const GAS_TANK = gasTankAccount?.address as Address;
const GAS_TANK_KEY = toHex(gasTankAccount?.getHdKey().privateKey ?? new Uint8Array());
const mintAbi = parseAbi(['function mint(address to, uint256 value)']);

const log = (m: string) => console.log(`[bench:payouts] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FundedDeal {
  id: string;
  deposit: Hex;
  amountDue: bigint;
}

/** Runs `work` over `items` with `clients` at a time. */
async function inParallel<T, R>(items: readonly T[], clients: number, work: (item: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i] as T);
      }
    }),
  );
  return out;
}

/** Batched reads of many addresses (100 per HTTP request). */
async function readAll<T>(url: string, calls: Array<{ method: string; params: unknown[] }>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < calls.length; i += 100) out.push(...(await rpcBatch<T>(url, calls.slice(i, i + 100))));
  return out;
}

const tokenBalances = (url: string, who: readonly string[]) =>
  readAll<Hex>(
    url,
    who.map((a) => ({
      method: 'eth_call',
      params: [
        {
          to: USDT,
          data: encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [a as Hex] }),
        },
        'latest',
      ],
    })),
  ).then((xs) => xs.map((x) => BigInt(x)));

const nonces = (url: string, who: readonly string[]) =>
  readAll<Hex>(
    url,
    who.map((a) => ({ method: 'eth_getTransactionCount', params: [a, 'latest'] })),
  ).then((xs) => xs.map((x) => Number(BigInt(x))));

/**
 * Mints every deal's amount due to its deposit address from the token owner, all at once (anvil mines
 * them into the next blocks), waits for the confirmation count and records each mint as the deal's
 * confirmed payment through recordPayments: what the payments worker does with a scanner report.
 */
async function fundDeals(url: string, store: DealStore, deals: readonly FundedDeal[]): Promise<void> {
  const first = BigInt(await rpc<Hex>(url, 'eth_getTransactionCount', [deployer?.address, 'pending']));
  const hashes = await rpcBatch<Hex>(
    url,
    deals.map((d, i) => ({
      method: 'eth_sendTransaction',
      params: [
        {
          from: deployer?.address,
          to: USDT,
          data: encodeFunctionData({ abi: mintAbi, functionName: 'mint', args: [d.deposit, d.amountDue] }),
          gas: toQuantity(100_000),
          nonce: toQuantity(first + BigInt(i)),
        },
      ],
    })),
  );
  type Receipt = {
    status: Hex;
    blockNumber: Hex;
    blockHash: Hex;
    logs: Array<{ logIndex: Hex }>;
  } | null;
  let receipts: Receipt[] = [];
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    receipts = await readAll<Receipt>(
      url,
      hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })),
    );
    if (receipts.every((r) => r !== null)) break;
    if (Date.now() > deadline) throw new Error('the funding mints were not mined within 60 s');
  }
  if (receipts.some((r) => r?.status !== '0x1')) throw new Error('a funding mint reverted');
  const last = receipts.reduce(
    (m, r) => (BigInt(r?.blockNumber ?? 0) > m ? BigInt(r?.blockNumber ?? 0) : m),
    0n,
  );
  while (BigInt(await rpc<Hex>(url, 'eth_blockNumber')) < last + BigInt(CONFIRMATIONS - 1)) await sleep(200);
  const timestamps = new Map<string, Date>();
  for (const r of receipts) {
    const hash = r?.blockHash as Hex;
    if (timestamps.has(hash)) continue;
    const block = await rpc<{ timestamp: Hex }>(url, 'eth_getBlockByHash', [hash, false]);
    timestamps.set(hash, new Date(Number(BigInt(block.timestamp)) * 1000));
  }
  await inParallel(
    deals.map((d, i) => ({ d, r: receipts[i] as NonNullable<Receipt>, txHash: hashes[i] as Hex })),
    SETUP_CLIENTS,
    async ({ d, r, txHash }) => {
      const result = await recordPayments(store, {
        dealId: d.id,
        payments: [
          {
            chainId: CHAIN_ID,
            txHash,
            logIndex: Number(BigInt(r.logs[0]?.logIndex ?? '0x0')),
            token: USDT,
            from: '0x0000000000000000000000000000000000000000',
            to: d.deposit,
            amount: d.amountDue,
            blockNumber: BigInt(r.blockNumber),
            blockHash: r.blockHash,
            blockTimestamp: timestamps.get(r.blockHash) as Date,
            status: 'confirmed',
          },
        ],
        denylist: new Set(),
        isKnownAsset: () => true,
        actor: { kind: 'system', component: 'payments' },
      });
      if (result.transition?.deal.state !== 'funded') throw new Error(`deal ${d.id} was not funded`);
    },
  );
}

interface Progress {
  released: number;
  flagged: number;
  legsConfirmed: number;
  topupsConfirmed: number;
}

async function progressOf(pool: Pool, ids: readonly string[]): Promise<Progress> {
  const { rows } = await pool.query(
    `SELECT
       (SELECT count(*)::int FROM deals WHERE id = ANY($1::uuid[]) AND state = 'released') AS released,
       (SELECT count(*)::int FROM deals WHERE id = ANY($1::uuid[]) AND needs_review) AS flagged,
       (SELECT count(*)::int FROM payout_legs WHERE deal_id = ANY($1::uuid[]) AND status = 'confirmed')
         AS legs_confirmed,
       (SELECT count(*)::int FROM gas_topups WHERE deal_id = ANY($1::uuid[]) AND status = 'confirmed')
         AS topups_confirmed`,
    [ids],
  );
  const r = rows[0];
  return {
    released: r.released,
    flagged: r.flagged,
    legsConfirmed: r.legs_confirmed,
    topupsConfirmed: r.topups_confirmed,
  };
}

/** Seconds from `t0` (epoch ms) to the first and last of each step, from the rows' own timestamps. */
async function phasesOf(pool: Pool, ids: readonly string[], t0: number): Promise<Record<string, string>> {
  const { rows } = await pool.query(
    `SELECT 'top-ups signed' AS step, min(a.created_at) AS first, max(a.created_at) AS last
       FROM payout_attempts a JOIN gas_topups t ON t.id = a.topup_id WHERE t.deal_id = ANY($1::uuid[])
     UNION ALL
     SELECT 'legs signed', min(a.created_at), max(a.created_at)
       FROM payout_attempts a JOIN payout_legs l ON l.id = a.leg_id WHERE l.deal_id = ANY($1::uuid[])
     UNION ALL
     SELECT 'deals released', min(at), max(at) FROM activity_log
      WHERE deal_id = ANY($1::uuid[]) AND action = 'payouts_confirmed'`,
    [ids],
  );
  const secs = (d: Date | null) => (d ? ((d.getTime() - t0) / 1000).toFixed(1) : '-');
  return Object.fromEntries(rows.map((r) => [r.step, `${secs(r.first)}–${secs(r.last)} s`]));
}

/** What the duplicate check found; every list empty means paid exactly once, as the ledger says. */
interface ExactlyOnce {
  legs: number;
  topups: number;
  problems: string[];
}

/**
 * Every leg and top-up has exactly one signed transaction and it was mined; each deposit address sent
 * exactly its legs (its nonce) and holds no token left; the gas tank sent exactly the top-ups; the seller
 * and the fee address received exactly the sum of their legs, to the base unit.
 */
async function checkExactlyOnce(
  url: string,
  pool: Pool,
  deals: readonly FundedDeal[],
  before: { seller: bigint; fee: bigint; tankNonce: number },
): Promise<ExactlyOnce> {
  const ids = deals.map((d) => d.id);
  const problems: string[] = [];
  const { rows: legs } = await pool.query(
    `SELECT l.deal_id, l.kind, l.amount::text, l.status,
            count(a.id)::int AS attempts, count(a.id) FILTER (WHERE a.status = 'mined')::int AS mined
       FROM payout_legs l LEFT JOIN payout_attempts a ON a.leg_id = l.id
      WHERE l.deal_id = ANY($1::uuid[]) GROUP BY l.id`,
    [ids],
  );
  const { rows: topups } = await pool.query(
    `SELECT t.deal_id, t.status, count(a.id)::int AS attempts,
            count(a.id) FILTER (WHERE a.status = 'mined')::int AS mined
       FROM gas_topups t LEFT JOIN payout_attempts a ON a.topup_id = t.id
      WHERE t.deal_id = ANY($1::uuid[]) GROUP BY t.id`,
    [ids],
  );
  for (const r of [...legs, ...topups]) {
    const what = `${r.kind ?? 'gas top-up'} of ${r.deal_id}`;
    if (r.status !== 'confirmed') problems.push(`${what} is ${r.status}`);
    if (r.attempts !== 1 || r.mined !== 1) problems.push(`${what}: ${r.attempts} signed, ${r.mined} mined`);
  }
  const legsPerDeal = new Map<string, number>();
  for (const l of legs) legsPerDeal.set(l.deal_id, (legsPerDeal.get(l.deal_id) ?? 0) + 1);
  const [sent, left] = await Promise.all([
    nonces(
      url,
      deals.map((d) => d.deposit),
    ),
    tokenBalances(
      url,
      deals.map((d) => d.deposit),
    ),
  ]);
  for (const [i, d] of deals.entries()) {
    if (sent[i] !== legsPerDeal.get(d.id))
      problems.push(`deposit ${d.deposit} sent ${sent[i]} transactions for ${legsPerDeal.get(d.id)} legs`);
    if (left[i] !== 0n) problems.push(`deposit ${d.deposit} still holds ${left[i]}`);
  }
  const [[seller, fee], [tankNonce]] = await Promise.all([
    tokenBalances(url, [SELLER_ADDRESS, FEE_ADDRESS]),
    nonces(url, [GAS_TANK]),
  ]);
  const sum = (kind: string) =>
    legs.filter((l) => l.kind === kind).reduce((s, l) => s + BigInt(l.amount), 0n);
  if ((seller as bigint) - before.seller !== sum('seller'))
    problems.push(
      `the seller received ${(seller as bigint) - before.seller}, the ledger says ${sum('seller')}`,
    );
  if ((fee as bigint) - before.fee !== sum('fee'))
    problems.push(`the fee address received ${(fee as bigint) - before.fee}, the ledger says ${sum('fee')}`);
  const otherKinds = legs.filter((l) => l.kind !== 'seller' && l.kind !== 'fee');
  if (otherKinds.length > 0) problems.push(`${otherKinds.length} legs of an unexpected kind`);
  if ((tankNonce as number) - before.tankNonce !== topups.length)
    problems.push(
      `the gas tank sent ${(tankNonce as number) - before.tankNonce} transactions for ${topups.length} top-ups`,
    );
  return { legs: legs.length, topups: topups.length, problems };
}

export async function benchPayouts(env: { databaseUrl: string; redisUrl: string }): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const prefix = `bench-payouts-${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'amanat-bench-payouts-'));
  await migrate({ connectionString: env.databaseUrl, schema });
  const anvil = await startAnvil({ blockTime: BLOCK_TIME_SEC });
  let proxy: RpcProxy | null = null;
  let scannerProxy: RpcProxy | null = null;
  const services: ServiceProcess[] = [];
  const pool = createPool({ connectionString: env.databaseUrl, schema, max: SETUP_CLIENTS + 4 });
  try {
    await deployDemoTokens(anvil.rpcUrl);
    proxy = await startRpcProxy({ target: anvil.rpcUrl });
    scannerProxy = await startRpcProxy({ target: anvil.rpcUrl });
    // The signer's deposit key is anvil's own mnemonic: the first indexes are the funded dev accounts.
    await pool.query(`SELECT setval('deposit_index_seq', 1000, false)`);
    const xpub = accountXpub(ANVIL_MNEMONIC);
    const [apiPort, workersPort, scannerPort] = [
      await findFreePort(),
      await findFreePort(),
      await findFreePort(),
    ];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const common = benchServicesEnv({
      ...env,
      schema,
      prefix,
      chainId: CHAIN_ID,
      rpcUrl: anvil.rpcUrl,
      confirmations: CONFIRMATIONS,
    });
    services.push(
      await startBenchApi({ common, port: apiPort, botToken: BOT_TOKEN, depositXpub: xpub, webhookSecret }),
      await startService({
        name: 'workers',
        entry: 'workers/src/main.ts',
        nodeArgs: WORKERS_PROCESS.nodeArgs,
        env: {
          ...common,
          ...WORKERS_PROCESS.env,
          RPC_URLS: JSON.stringify({ [CHAIN_ID]: [proxy.url] }),
          WORKERS_HEALTH_PORT: String(workersPort),
          CHECKPOINT_SIGNING_KEY: generateSigningKeyText(),
          CHECKPOINT_FILE: join(tmp, 'checkpoints.jsonl'),
          WORKERS_ROLES: 'all,payouts',
          DEPOSIT_XPUB: xpub,
          PAYOUT_MNEMONIC: ANVIL_MNEMONIC,
          GAS_TANK_KEY,
          FEE_ADDRESS,
        },
        readyUrl: `http://127.0.0.1:${workersPort}/readyz`,
      }),
    );
    const [api, workers] = services as [ServiceProcess, ServiceProcess];

    // The parties sign in over the API (as Telegram users); their deals are made through the store.
    const call = apiClient(apiUrl);
    const telegramId = 810_000_000 + Math.floor(Math.random() * 1_000_000) * 2;
    const signIn = async (id: number) =>
      (
        await call('POST', '/api/auth/telegram', null, {
          initData: signInitData(
            {
              auth_date: String(Math.floor(Date.now() / 1000)),
              query_id: `q${id}`,
              user: JSON.stringify({ id, first_name: `Bench ${id}` }),
            },
            secretKeyFor(BOT_TOKEN),
          ),
        })
      ).token as string;
    const buyerToken = (await Promise.all([signIn(telegramId), signIn(telegramId + 1)]))[1];
    const { rows: users } = await pool.query(
      `SELECT id, telegram_id::text FROM users WHERE telegram_id = ANY($1::bigint[]) ORDER BY telegram_id`,
      [[telegramId, telegramId + 1]],
    );
    const asSeller: Actor = { kind: 'user', userId: users[0].id, role: 'seller' };
    const asBuyer: Actor = { kind: 'user', userId: users[1].id, role: 'buyer' };

    const store = new DealStore({ pool });
    const derive = depositAddressDeriver(xpub);
    let started = performance.now();
    const deals = await inParallel(
      Array.from({ length: DEALS }, (_, i) => i),
      SETUP_CLIENTS,
      async (): Promise<FundedDeal> => {
        const { deal } = await store.create(
          newDealInput(users[0].id, { creatorAddress: SELLER_ADDRESS, title: 'Bench payout' }),
        );
        await store.act(deal.id, { type: 'join', role: 'buyer' }, asBuyer, { partyAddress: BUYER_ADDRESS });
        await store.act(deal.id, { type: 'accept' }, asSeller);
        const accepted = await store.act(deal.id, { type: 'accept' }, asBuyer, {
          deriveDepositAddress: derive,
        });
        const deposit = accepted.deal.deposit?.address;
        if (!deposit) throw new Error(`deal ${deal.id} has no deposit address`);
        return { id: deal.id, deposit: deposit as Hex, amountDue: accepted.deal.quote.amountDue };
      },
    );
    log(
      `${DEALS} deals accepted through the store in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    started = performance.now();
    await fundDeals(anvil.rpcUrl, store, deals);
    log(`funded on chain (mints) and recorded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const ids = deals.map((d) => d.id);
    // Ready once its first tick ran: from then on every block is scanned, every payout sender watched.
    services.push(
      await startService({
        name: 'scanner',
        entry: 'scanner/src/main.ts',
        nodeArgs: SCANNER_PROCESS.nodeArgs,
        env: {
          ...common,
          ...SCANNER_PROCESS.env,
          RPC_URLS: JSON.stringify({ [CHAIN_ID]: [scannerProxy.url] }),
          SCANNER_HEALTH_PORT: String(scannerPort),
          PAYMENT_WEBHOOK_SECRET: webhookSecret,
          PAYMENT_CALLBACK_URL: `${apiUrl}/api/payment/callback`,
          SCAN_CHECKPOINT_DIR: join(tmp, 'scan-checkpoints'),
        },
        readyUrl: `http://127.0.0.1:${scannerPort}/readyz`,
      }),
    );
    const scanner = services[2] as ServiceProcess;

    const [sellerBefore, feeBefore] = await tokenBalances(anvil.rpcUrl, [SELLER_ADDRESS, FEE_ADDRESS]);
    const [tankNonceBefore] = await nonces(anvil.rpcUrl, [GAS_TANK]);
    // Let the set-up's outbox work (funded notifications and the like) drain before counting RPC calls.
    await sleep(2_000);
    const headBefore = BigInt(await rpc<Hex>(anvil.rpcUrl, 'eth_blockNumber'));
    proxy.resetCounts();
    scannerProxy.resetCounts();
    const t0 = performance.now();
    const t0Wall = Date.now();
    await inParallel(ids, RELEASE_CLIENTS, (id) => call('POST', `/api/deals/${id}/confirm`, buyerToken, {}));
    const releasedAllMs = performance.now() - t0;
    log(`${DEALS} confirmations accepted by the API in ${(releasedAllMs / 1000).toFixed(1)} s`);

    let progress = await progressOf(pool, ids);
    let lastLog = performance.now();
    while (progress.released + progress.flagged < DEALS) {
      if (performance.now() - t0 > PAYOUT_DEADLINE_MS) break;
      await sleep(100);
      progress = await progressOf(pool, ids);
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(
          `${((lastLog - t0) / 1000).toFixed(0)} s: ${progress.released} released, ${progress.legsConfirmed} legs and ` +
            `${progress.topupsConfirmed} top-ups confirmed, ${progress.flagged} flagged`,
        );
      }
    }
    const elapsedMs = performance.now() - t0;
    const calls = proxy.calls;
    const byMethod = [...proxy.callsByMethod].sort((a, b) => b[1] - a[1]);
    const scannerCalls = scannerProxy.calls;
    const scannerByMethod = [...scannerProxy.callsByMethod].sort((a, b) => b[1] - a[1]);
    const head = BigInt(await rpc<Hex>(anvil.rpcUrl, 'eth_blockNumber'));
    const check = await checkExactlyOnce(anvil.rpcUrl, pool, deals, {
      seller: sellerBefore as bigint,
      fee: feeBefore as bigint,
      tankNonce: tankNonceBefore as number,
    });

    const phases = await phasesOf(pool, ids, t0Wall);
    const minutes = elapsedMs / 60_000;
    const dealsPerMin = progress.released / minutes;
    const txPerMin = progress.legsConfirmed / minutes;
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    const allReleased = progress.released === DEALS;
    const exactlyOnce = check.problems.length === 0;
    console.log(
      `\nbench:payouts (${DEALS} deals, USDT, anvil ${BLOCK_TIME_SEC}-s blocks, ${CONFIRMATIONS} confirmations; ` +
        `first confirmation to the last deal released)`,
    );
    console.log(
      `  deals released          ${String(progress.released).padStart(8)} of ${DEALS} in ${(elapsedMs / 1000).toFixed(1)} s ` +
        `  target all            ${ok(allReleased)}`,
    );
    console.log(
      `  deals released / min    ${dealsPerMin.toFixed(0).padStart(8)}   target >= ${TARGET.payoutsPerMin}   ${ok(dealsPerMin >= TARGET.payoutsPerMin)}`,
    );
    console.log(
      `  payout txs / min        ${txPerMin.toFixed(0).padStart(8)}   (${progress.legsConfirmed} legs: seller and fee per deal)`,
    );
    console.log(
      `  RPC calls per payout tx ${(calls / Math.max(1, progress.legsConfirmed)).toFixed(1).padStart(8)}   ` +
        `(${calls} calls, ${(calls / Math.max(1, progress.released)).toFixed(1)} per deal)`,
    );
    console.log(
      `    by method: ${byMethod.map(([m, n]) => `${m} ${(n / Math.max(1, progress.legsConfirmed)).toFixed(2)}`).join(', ')}`,
    );
    console.log(
      `  scanner RPC calls       ${String(scannerCalls).padStart(8)}   (${scannerByMethod.map(([m, n]) => `${m} ${n}`).join(', ')}; ` +
        `not counted above)`,
    );
    console.log(
      `  duplicates              ${String(check.problems.length).padStart(8)}   target 0   ${ok(exactlyOnce)}` +
        `   (${check.legs} legs and ${check.topups} top-ups, each one mined transaction; balances = ledger)`,
    );
    for (const p of check.problems.slice(0, 20)) console.log(`    ${p}`);
    console.log(
      `  gas top-ups sent        ${String(check.topups).padStart(8)}   (one per deal, from one gas tank)`,
    );
    console.log(
      `  phases (s after the first confirmation): ${Object.entries(phases)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}`,
    );
    console.log(`  blocks during payouts   ${String(head - headBefore).padStart(8)}`);
    console.log(`  flagged for review      ${String(progress.flagged).padStart(8)}`);
    console.log(`  workers peak RSS        ${workers.peakRssMb().toFixed(0).padStart(5)} MB`);
    console.log(`  api peak RSS            ${api.peakRssMb().toFixed(0).padStart(5)} MB`);
    console.log(`  scanner peak RSS        ${scanner.peakRssMb().toFixed(0).padStart(5)} MB`);
    if (!allReleased || !exactlyOnce) {
      console.error(`--- workers ---\n${workers.output().slice(-4000)}`);
      process.exitCode = 1;
    }
  } catch (err) {
    for (const s of services) console.error(`--- ${s.name} ---\n${s.output().slice(-3000)}`);
    throw err;
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    await proxy?.close();
    await scannerProxy?.close();
    await anvil.stop();
    await pool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await pool.end();
    await deleteKeys(env.redisUrl, prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
}
