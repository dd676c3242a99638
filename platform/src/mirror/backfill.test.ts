import { randomUUID } from 'node:crypto';
import { verifyChain } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { readActivity } from '../deals/activity.ts';
import { DealStore } from '../deals/store.ts';
import { awaitingPaymentDeal } from '../deals/test-fixtures.ts';
import { getUser, upsertTelegramUser } from '../users.ts';
import { backfillDeals, backfillUsers } from './backfill.ts';
import { type LegacyDealDoc, toLegacyDeal } from './legacy-shape.ts';
import { partyTelegramIds } from './mirror-writer.ts';
import {
  asAsync,
  SAMPLE_DEAL_IDS,
  SAMPLE_USER_IDS,
  sampleLegacyDeals,
  sampleLegacyUsers,
} from './samples.ts';

let db: TestDatabase;
let store: DealStore;
const importedAt = new Date('2026-01-15T08:00:00.000Z');

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
});
afterAll(() => db.close());

const count = async (table: string) =>
  (await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

const asStored = async (id: string) => {
  const deal = await store.get(id);
  if (!deal) throw new Error(`deal ${id} was not imported`);
  return toLegacyDeal(deal, await partyTelegramIds(db.pool, [deal]));
};

/** A sample deal under a new id, invite code and deposit, so it can be imported next to the samples. */
const freshCopy = (doc: LegacyDealDoc, over: Partial<LegacyDealDoc> = {}): LegacyDealDoc => ({
  ...doc,
  _id: randomUUID(),
  code: `X${randomUUID().slice(0, 8).toUpperCase()}`,
  depositAddress: null,
  ...over,
});

describe('backfill of legacy documents', () => {
  it('imports users, then deals, and a second run imports nothing', async () => {
    expect(await backfillUsers({ pool: db.pool, docs: asAsync(sampleLegacyUsers()) })).toEqual({
      imported: 3,
      skipped: 0,
      invalid: [],
    });
    expect(
      await backfillDeals({ pool: db.pool, docs: asAsync(sampleLegacyDeals()), now: importedAt }),
    ).toEqual({
      imported: 3,
      skipped: 0,
      invalid: [],
    });
    const before = {
      deals: await count('deals'),
      users: await count('users'),
      log: await count('activity_log'),
    };
    expect(before).toEqual({ deals: 3, users: 3, log: 3 });

    expect(await backfillUsers({ pool: db.pool, docs: asAsync(sampleLegacyUsers()) })).toMatchObject({
      imported: 0,
    });
    expect(await backfillDeals({ pool: db.pool, docs: asAsync(sampleLegacyDeals()) })).toEqual({
      imported: 0,
      skipped: 3,
      invalid: [],
    });
    expect({
      deals: await count('deals'),
      users: await count('users'),
      log: await count('activity_log'),
    }).toEqual(before);
  });

  it('stores each deal so that it reads back as exactly the legacy document', async () => {
    for (const doc of sampleLegacyDeals()) expect(await asStored(doc._id)).toEqual(doc);
    const aigerim = await getUser(db.pool, SAMPLE_USER_IDS.aigerim);
    expect(aigerim).toMatchObject({
      telegramId: 100200300n,
      username: 'aigerim_design',
      language: 'kk',
      version: 2,
    });
    // The buyer opened the split-fee deal, so the buyer is its creator.
    const { rows } = await db.pool.query('SELECT created_by FROM deals WHERE id = $1', [
      SAMPLE_DEAL_IDS.awaitingPayment,
    ]);
    expect(rows[0].created_by).toBe(SAMPLE_USER_IDS.dana);
  });

  it('starts each imported activity log with an import_legacy entry that verifies', async () => {
    for (const doc of sampleLegacyDeals()) {
      const log = await readActivity(db.pool, doc._id);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({
        seq: 1,
        at: importedAt.toISOString(),
        action: 'import_legacy',
        actor: { kind: 'system', component: 'backfill' },
        stateBefore: null,
        stateAfter: doc.status,
        facts: { legacyVersion: doc.version },
      });
      expect(verifyChain(doc._id, log)).toEqual({ ok: true, head: { seq: 1, hash: log[0]?.hash }, count: 1 });
      const deal = await store.get(doc._id);
      expect(deal).toMatchObject({ logSeq: 1, logHead: log[0]?.hash, version: doc.version });
    }
  });

  it('an imported deal keeps working: the next action extends its log, and new deals get new deposit indexes', async () => {
    const asDana = { kind: 'user', userId: SAMPLE_USER_IDS.dana, role: 'buyer' } as const;
    const cancelled = await store.act(SAMPLE_DEAL_IDS.awaitingPayment, { type: 'cancel' }, asDana);
    expect(cancelled.deal).toMatchObject({ state: 'cancelled', version: 4, logSeq: 2 });
    const log = await readActivity(db.pool, SAMPLE_DEAL_IDS.awaitingPayment);
    expect(verifyChain(SAMPLE_DEAL_IDS.awaitingPayment, log)).toMatchObject({ ok: true, count: 2 });

    // The samples brought indexes 7 and 12: the sequence must never hand either out again.
    const fresh = await awaitingPaymentDeal(
      store,
      db.pool,
      (i) => `0x${(0xfee000n + i).toString(16).padStart(40, '0')}`,
    );
    expect(fresh.deal.deposit?.index).toBeGreaterThan(12n);
  });

  it('finds a party by Telegram id: a person PostgreSQL already knows keeps their user', async () => {
    const known = await upsertTelegramUser(db.pool, { telegramId: 777_000_111n, displayName: 'Known' });
    const [draft] = sampleLegacyDeals();
    const doc = freshCopy(draft as LegacyDealDoc, {
      seller: {
        userId: randomUUID(),
        telegramId: '777000111',
        address: null,
        acceptedAt: draft?.createdAt ?? null,
      },
    });
    expect(await backfillDeals({ pool: db.pool, docs: [doc] })).toMatchObject({ imported: 1 });
    expect((await store.get(doc._id))?.seller?.userId).toBe(known.id);
    expect((await getUser(db.pool, known.id))?.displayName).toBe('Known');
  });

  it('reports invalid documents with their id and reason and imports none of them', async () => {
    const [draft, split] = sampleLegacyDeals() as [LegacyDealDoc, LegacyDealDoc];
    const badPrice = { ...freshCopy(draft), price: '250000000.5' };
    const strangerId = randomUUID();
    // Valid on its own, but its deposit address already belongs to another deal in PostgreSQL.
    const clash = freshCopy(split, {
      depositAddress: split.depositAddress,
      buyer: {
        ...(split.buyer as NonNullable<LegacyDealDoc['buyer']>),
        userId: strangerId,
        telegramId: '42424242',
      },
    });
    const usersBefore = await count('users');
    const report = await backfillDeals({
      pool: db.pool,
      docs: asAsync([null, { _id: 'legacy-1' }, badPrice, clash]),
    });
    expect(report.imported).toBe(0);
    expect(report.invalid.map((i) => i.id)).toEqual(['(no _id)', 'legacy-1', badPrice._id, clash._id]);
    expect(report.invalid[1]?.reason).toMatch(/_id: .*; code: /);
    expect(report.invalid[2]?.reason).toMatch(/^price: must be base units/);
    expect(report.invalid[3]?.reason).toMatch(/^rejected by PostgreSQL: .*deposit_addresses/);
    for (const id of [badPrice._id, clash._id]) expect(await store.get(id)).toBeNull();
    // The rejected deal's transaction took its new user with it.
    expect(await count('users')).toBe(usersBefore);
  });
});
