// bench:store — deal state transitions per second against PostgreSQL with 16 concurrent clients, next
// to pgbench's TPC-B-like run on the same server in the same run, and the ratio of the two.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Actor } from '@amanat/core';
import { createPool, DealStore, migrate, recordPayments } from '@amanat/platform';
import pg from 'pg';
import { BUYER_ADDRESS, makeParties, newDealInput } from '../platform/src/deals/test-fixtures.ts';
import { median } from './stats.ts';

const CLIENTS = 16;
const ROUND_SEC = 6;
const ROUNDS = 5;
const system: Actor = { kind: 'system', component: 'bench' };

/** One deal from creation to confirmed release: eight transactions, each a real state change. */
type Parties = Awaited<ReturnType<typeof makeParties>>;

async function runDeal(store: DealStore, p: Parties, n: number): Promise<number> {
  const { deal } = await store.create(newDealInput(p.seller.id));
  await store.act(deal.id, { type: 'join', role: 'buyer' }, p.asBuyer, { partyAddress: BUYER_ADDRESS });
  const address = `0x${(BigInt(n) + 1n).toString(16).padStart(40, '0')}`;
  await store.act(deal.id, { type: 'accept' }, p.asSeller);
  await store.act(deal.id, { type: 'accept' }, p.asBuyer, { deriveDepositAddress: () => address });
  await recordPayments(store, {
    dealId: deal.id,
    payments: [
      {
        chainId: 31337,
        txHash: `0x${randomBytes(32).toString('hex')}`,
        logIndex: 0,
        token: deal.asset.token,
        from: BUYER_ADDRESS,
        to: address as `0x${string}`,
        amount: deal.quote.amountDue,
        blockNumber: 1n,
        blockHash: `0x${randomBytes(32).toString('hex')}`,
        blockTimestamp: new Date(),
        status: 'confirmed',
      },
    ],
    denylist: new Set(),
    isKnownAsset: () => true,
    actor: system,
  });
  await store.act(deal.id, { type: 'mark_delivered' }, p.asSeller);
  await store.act(deal.id, { type: 'confirm_receipt' }, p.asBuyer);
  await store.act(deal.id, { type: 'payouts_confirmed' }, system);
  return 8;
}

/** Users exist before they make deals; creating them is not a deal transition, so it happens up front. */
async function ourRound(store: DealStore, parties: Parties[], seconds: number): Promise<number> {
  let transitions = 0;
  let n = Math.floor(Math.random() * 1e9);
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        // Await first: `transitions += await …` would read the counter before the await and lose updates.
        const i = n++;
        const done = await runDeal(store, parties[i % parties.length] as Parties, i);
        transitions += done;
      }
    }),
  );
  return transitions / ((performance.now() - started) / 1000);
}

function pgEnv(url: string, database: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: database,
  };
}

function pgbenchRound(url: string, db: string, seconds: number): number {
  const r = spawnSync('pgbench', ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(seconds)], {
    env: pgEnv(url, db),
    encoding: 'utf8',
  });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout);
  if (!m) throw new Error(`pgbench failed: ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

export async function benchStore(databaseUrl: string): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const pgbenchDb = `amanat_pgbench_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pgbenchDb}`);
  const init = spawnSync('pgbench', ['-i', '-q', '-s', String(CLIENTS)], {
    env: pgEnv(databaseUrl, pgbenchDb),
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

  await migrate({ connectionString: databaseUrl, schema });
  const pool = createPool({ connectionString: databaseUrl, schema, max: CLIENTS + 2 });
  const store = new DealStore({ pool });
  try {
    const parties = await Promise.all(Array.from({ length: 500 }, () => makeParties(pool)));
    await ourRound(store, parties, 2); // warm-up: connections, plans, caches
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      theirs.push(pgbenchRound(databaseUrl, pgbenchDb, ROUND_SEC));
      ours.push(await ourRound(store, parties, ROUND_SEC));
    }
    const ratios = ours.map((o, i) => o / (theirs[i] as number));
    const rssMb = process.resourceUsage().maxRSS / 1024;
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    console.log(`\nbench:store (${CLIENTS} clients, ${ROUNDS} alternating rounds of ${ROUND_SEC}s, medians)`);
    console.log(`  rounds (transitions/s): ${ours.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`  rounds (pgbench tps):   ${theirs.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(
      `  deal transitions/s      ${median(ours).toFixed(0).padStart(8)}   target >= 1000   ${ok(median(ours) >= 1000)}`,
    );
    console.log(`  pgbench TPC-B-like tps  ${median(theirs).toFixed(0).padStart(8)}`);
    console.log(
      `  ratio (per round)       ${median(ratios).toFixed(2).padStart(8)}   target >= 0.50   ${ok(median(ratios) >= 0.5)}`,
    );
    console.log(`  peak RSS (bench proc)   ${rssMb.toFixed(0).padStart(5)} MB`);
  } finally {
    await pool.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await pool.end();
    await admin.query(`DROP DATABASE ${pgbenchDb}`).catch(() => {});
    await admin.end();
  }
}
