import { randomUUID } from 'node:crypto';
import { type MirrorJob, mirrorJobId, mirrorJobSchema, QUEUES, redisKeys } from '@amanat/core';
import { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../../devstack/testing.ts';
import { DealStore } from '../deals/store.ts';
import { awaitingPaymentDeal, BUYER_ADDRESS, makeParties, newDealInput } from '../deals/test-fixtures.ts';
import { OutboxRelay } from '../outbox/relay.ts';
import { connectRedis, createRedis } from '../redis.ts';
import { createLogger } from '../runtime/logger.ts';
import { getUser } from '../users.ts';
import { type LegacyDealDoc, type LegacyUserDoc, toLegacyDeal, toLegacyUser } from './legacy-shape.ts';
import type { LegacyMirror, MirrorWriteResult } from './mirror.ts';
import { MirrorWriter, partyTelegramIds } from './mirror-writer.ts';

type Versioned = { _id: string; version: number; title?: string };

/**
 * An in-memory legacy store with the same version guard as MongoMirror, whose writes can be made to
 * fail (the next n, or until healed) or to wait at a gate, for documents a predicate picks.
 */
class FaultyMirror implements LegacyMirror {
  readonly deals = new Map<string, LegacyDealDoc>();
  readonly users = new Map<string, LegacyUserDoc>();
  readonly failuresById = new Map<string, number>();
  private faults: Array<{ match: (doc: Versioned) => boolean; remaining: number }> = [];
  private gates: Array<{ match: (doc: Versioned) => boolean; arrived: () => void; open: Promise<void> }> = [];

  failNext(n: number, match: (doc: Versioned) => boolean): { heal(): void } {
    const fault = { match, remaining: n };
    this.faults.push(fault);
    return {
      heal: () => {
        fault.remaining = 0;
      },
    };
  }

  /** Holds the first matching write until released; `arrived` resolves when it is waiting. */
  hold(match: (doc: Versioned) => boolean): { arrived: Promise<void>; release(): void } {
    let arrived = () => {};
    let release = () => {};
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const open = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.gates.push({ match, arrived, open });
    return { arrived: reached, release };
  }

  private async write<T extends Versioned>(store: Map<string, T>, doc: T): Promise<MirrorWriteResult> {
    const fault = this.faults.find((f) => f.remaining > 0 && f.match(doc));
    if (fault) {
      fault.remaining -= 1;
      this.failuresById.set(doc._id, (this.failuresById.get(doc._id) ?? 0) + 1);
      throw new Error(`injected mirror failure for ${doc._id} v${doc.version}`);
    }
    const gate = this.gates.find((g) => g.match(doc));
    if (gate) {
      this.gates.splice(this.gates.indexOf(gate), 1);
      gate.arrived();
      await gate.open;
    }
    const stored = store.get(doc._id);
    if (stored && stored.version >= doc.version) return 'stale';
    store.set(doc._id, structuredClone(doc));
    return 'written';
  }

  writeDeal(doc: LegacyDealDoc): Promise<MirrorWriteResult> {
    return this.write(this.deals, doc);
  }

  writeUser(doc: LegacyUserDoc): Promise<MirrorWriteResult> {
    return this.write(this.users, doc);
  }

  async close(): Promise<void> {}
}

const ATTEMPTS = 8;
const BACKOFF_MS = 200;

let db: TestDatabase;
let redis: TestRedis;
let producer: Redis;
let relay: OutboxRelay;
let worker: Worker;
let queue: Queue;
let mirror: FaultyMirror;
let dual: DealStore;
let pgOnly: DealStore;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await createTestRedis();
  producer = await connectRedis(createRedis(redis.url, 'producer', 'test-relay'));
  const prefix = redisKeys(redis.prefix).bullPrefix;
  relay = new OutboxRelay({
    pool: db.pool,
    redis: producer,
    prefix: redis.prefix,
    logger: createLogger('test', 'silent'),
    pollMs: 50,
    // Tests retry quickly instead of over hours.
    jobOptions: { [QUEUES.mirror]: { attempts: ATTEMPTS, backoff: { type: 'fixed', delay: BACKOFF_MS } } },
  });
  await relay.start();
  mirror = new FaultyMirror();
  const writer = new MirrorWriter({ pool: db.pool, mirror });
  worker = new Worker(QUEUES.mirror, (job) => writer.handle(mirrorJobSchema.parse(job.data)), {
    connection: redis.redis,
    prefix,
    concurrency: 4,
  });
  worker.on('error', () => {});
  queue = new Queue(QUEUES.mirror, { connection: redis.redis, prefix });
  dual = new DealStore({ pool: db.pool, storageMode: 'dual' });
  pgOnly = new DealStore({ pool: db.pool });
});

afterAll(async () => {
  await worker?.close();
  await relay?.stop();
  await queue?.close();
  producer?.disconnect();
  await redis?.close();
  await db?.close();
});

const eventually = (check: () => unknown | Promise<unknown>, timeout = 15_000) =>
  vi.waitFor(check, { timeout, interval: 25 });

const derive = (i: bigint) => `0x${(0xbeef000n + i).toString(16).padStart(40, '0')}`;

/** The deal as PostgreSQL has it now, in the legacy shape. */
const currentDoc = async (id: string): Promise<LegacyDealDoc> => {
  const deal = await dual.get(id);
  if (!deal) throw new Error(`no deal ${id}`);
  return toLegacyDeal(deal, await partyTelegramIds(db.pool, [deal]));
};

const mirrorJob = (id: string, version: number) =>
  Job.fromId(queue, mirrorJobId({ entity: 'deal', id, version }));

const mirrorOutbox = async (dealId: string) =>
  (
    await db.pool.query(
      `SELECT job_id, payload FROM outbox WHERE target = $1 AND payload->>'id' = $2 ORDER BY id`,
      [QUEUES.mirror, dealId],
    )
  ).rows;

describe('mirror of committed deal changes to the legacy store', () => {
  it('(a) in pg_only mode writes no mirror job, while dual mode in the same pipeline does', async () => {
    const { deal } = await awaitingPaymentDeal(pgOnly, db.pool, derive);
    const dualDeal = await awaitingPaymentDeal(dual, db.pool, derive);

    await eventually(async () => expect(mirror.deals.get(dualDeal.deal.id)?.version).toBe(4));
    // Everything both deals wrote has been relayed, so a mirror job for the first would be in the queue.
    await eventually(async () => {
      const { rows } = await db.pool.query(
        'SELECT count(*)::int AS n FROM outbox WHERE delivered_at IS NULL',
      );
      expect(rows[0].n).toBe(0);
    });
    expect(await mirrorOutbox(deal.id)).toEqual([]);
    const queued = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(queued.filter((j) => j.data.id === deal.id)).toEqual([]);
    expect(mirror.deals.has(deal.id)).toBe(false);
    // The same deal's other follow-ups did go out: only the mirror is switched off.
    const notified = await db.pool.query(
      `SELECT count(*)::int AS n FROM outbox WHERE kind = 'deal_event' AND payload->>'dealId' = $1`,
      [deal.id],
    );
    expect(notified.rows[0].n).toBeGreaterThan(0);
  });

  it('(b) in dual mode actions succeed while the mirror fails; retried jobs bring it to the current version', async () => {
    const parties = await makeParties(db.pool);
    const title = `Bicycle ${randomUUID()}`;
    const outage = mirror.failNext(Number.POSITIVE_INFINITY, (doc) => doc.title === title);

    const { deal } = await dual.create(newDealInput(parties.seller.id, { title }));
    await eventually(() => expect(mirror.failuresById.get(deal.id)).toBeGreaterThanOrEqual(1));
    // The mirror is down now; the users carry on regardless.
    await dual.act(deal.id, { type: 'join', role: 'buyer' }, parties.asBuyer, {
      partyAddress: BUYER_ADDRESS,
    });
    await dual.act(deal.id, { type: 'accept' }, parties.asSeller);
    const accepted = await dual.act(deal.id, { type: 'accept' }, parties.asBuyer, {
      deriveDepositAddress: derive,
    });
    expect(accepted.deal).toMatchObject({ state: 'awaiting_payment', version: 4 });
    await eventually(() => expect(mirror.failuresById.get(deal.id)).toBeGreaterThanOrEqual(4));
    expect(mirror.deals.has(deal.id)).toBe(false);

    outage.heal();
    await eventually(async () => expect(mirror.deals.get(deal.id)).toEqual(await currentDoc(deal.id)));
    expect(mirror.deals.get(deal.id)?.version).toBe(4);

    expect((await mirrorOutbox(deal.id)).map((r) => r.payload)).toEqual(
      [1, 2, 3, 4].map((version) => ({ entity: 'deal', id: deal.id, version })),
    );
    await eventually(async () => {
      for (const version of [1, 2, 3, 4])
        expect(await (await mirrorJob(deal.id, version))?.getState()).toBe('completed');
    });
    const first = await mirrorJob(deal.id, 1);
    expect(first?.attemptsMade).toBeGreaterThan(1);
  });

  it('(c) a job for an older version that writes after a newer one never regresses the mirror', async () => {
    const parties = await makeParties(db.pool);
    const { deal } = await dual.create(newDealInput(parties.seller.id));
    await eventually(() => expect(mirror.deals.get(deal.id)?.version).toBe(1));

    // The job for v2 reads the row at v2, then stalls before its write lands.
    const stalled = mirror.hold((doc) => doc._id === deal.id && doc.version === 2);
    await dual.act(deal.id, { type: 'join', role: 'buyer' }, parties.asBuyer, {
      partyAddress: BUYER_ADDRESS,
    });
    await stalled.arrived;
    await dual.act(deal.id, { type: 'accept' }, parties.asSeller);
    await dual.act(deal.id, { type: 'accept' }, parties.asBuyer, { deriveDepositAddress: derive });
    await eventually(() => expect(mirror.deals.get(deal.id)?.version).toBe(4));

    stalled.release();
    await eventually(async () => expect((await mirrorJob(deal.id, 2))?.returnvalue).toBe('stale'));
    expect(mirror.deals.get(deal.id)).toEqual(await currentDoc(deal.id));

    // A replay of the oldest job, long after: it re-reads the row, finds the mirror current, writes nothing.
    const replay = await queue.add(
      'mirror-entity',
      { entity: 'deal', id: deal.id, version: 1 } satisfies MirrorJob,
      {
        jobId: `replay-${deal.id}`,
      },
    );
    await eventually(async () =>
      expect((await Job.fromId(queue, replay.id as string))?.returnvalue).toBe('stale'),
    );
    expect(mirror.deals.get(deal.id)?.version).toBe(4);
  });

  it('(d) a job that exhausts its attempts stays failed in the queue, and its action stays committed', async () => {
    const parties = await makeParties(db.pool);
    const title = `Lamp ${randomUUID()}`;
    const outage = mirror.failNext(Number.POSITIVE_INFINITY, (doc) => doc.title === title);
    const { deal } = await dual.create(newDealInput(parties.seller.id, { title }));

    const jobId = mirrorJobId({ entity: 'deal', id: deal.id, version: 1 });
    await eventually(async () => expect(await queue.getJobState(jobId)).toBe('failed'));
    await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * 2));
    const job = await Job.fromId(queue, jobId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(ATTEMPTS);
    expect(job?.failedReason).toMatch(/injected mirror failure/);
    expect((await queue.getFailed()).map((j) => j.id)).toContain(jobId);
    expect(mirror.failuresById.get(deal.id)).toBe(ATTEMPTS);

    expect(await dual.get(deal.id)).toMatchObject({ state: 'draft', version: 1, title });
    expect(mirror.deals.has(deal.id)).toBe(false);

    // Once the legacy store is back, retrying the job (as from bull-board) catches the mirror up.
    outage.heal();
    await job?.retry('failed');
    await eventually(async () => expect(mirror.deals.get(deal.id)).toEqual(await currentDoc(deal.id)));
  });
});

describe('MirrorWriter', () => {
  it('writes the row as it is now, whatever version the job names, and reports a vanished row as gone', async () => {
    const own = new FaultyMirror();
    const writer = new MirrorWriter({ pool: db.pool, mirror: own });
    const { deal, buyer } = await awaitingPaymentDeal(pgOnly, db.pool, derive);

    expect(await writer.handle({ entity: 'deal', id: deal.id, version: 1 })).toBe('written');
    expect(own.deals.get(deal.id)).toEqual(await currentDoc(deal.id));
    expect(own.deals.get(deal.id)?.buyer?.telegramId).toBe(buyer.telegramId?.toString());
    expect(await writer.handle({ entity: 'deal', id: deal.id, version: 3 })).toBe('stale');

    expect(await writer.handle({ entity: 'user', id: buyer.id, version: 1 })).toBe('written');
    const user = await getUser(db.pool, buyer.id);
    expect(own.users.get(buyer.id)).toEqual(user && toLegacyUser(user));

    expect(await writer.handle({ entity: 'deal', id: randomUUID(), version: 1 })).toBe('gone');
    expect(await writer.handle({ entity: 'user', id: randomUUID(), version: 1 })).toBe('gone');
    await expect(writer.handle({ entity: 'deal', id: 'not-a-uuid', version: 1 })).rejects.toThrow();
  });
});
