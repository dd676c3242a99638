import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { backfillDeals } from './backfill.ts';
import { COMPARED_DEAL_FIELDS, compareStores, pgDealsAsLegacy } from './compare.ts';
import type { LegacyDealDoc } from './legacy-shape.ts';
import { asAsync, SAMPLE_DEAL_IDS, sampleLegacyDeals } from './samples.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  const report = await backfillDeals({ pool: db.pool, docs: asAsync(sampleLegacyDeals()) });
  expect(report.imported).toBe(3);
});
afterAll(() => db.close());

const compareWith = (mongoDeals: unknown[]) =>
  compareStores({ pgDeals: pgDealsAsLegacy(db.pool, { batchSize: 2 }), mongoDeals: asAsync(mongoDeals) });

const samplesBy = () => {
  const [draft, awaiting, delivered] = sampleLegacyDeals() as [LegacyDealDoc, LegacyDealDoc, LegacyDealDoc];
  return { draft, awaiting, delivered };
};

/** The dotted names of every leaf of a document (nested objects are walked, dates and arrays are leaves). */
const leaves = (doc: object, prefix = ''): string[] =>
  Object.entries(doc).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v)
      ? leaves(v, `${prefix}${k}.`)
      : [prefix + k],
  );

const setAt = (doc: Record<string, unknown>, path: string, change: (v: unknown) => unknown): void => {
  const keys = path.split('.');
  const last = keys.pop() as string;
  const parent = keys.reduce((o, k) => o[k] as Record<string, unknown>, doc);
  parent[last] = change(parent[last]);
};

const OTHER_ENUM: Record<string, string> = { status: 'funded', funding: 'funded', feePayer: 'split' };

/** A different value of the same type, valid for its field on its own. */
const changed = (path: string, v: unknown): unknown => {
  const field = path.split('.').at(-1) as string;
  if (v instanceof Date) return new Date(v.getTime() + 1);
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v + 1;
  if (Array.isArray(v)) return [...v, 'extra'];
  if (field in OTHER_ENUM) return OTHER_ENUM[field];
  if (field === 'userId') return randomUUID();
  if (field === 'address' || field === 'token') return '0x000000000000000000000000000000000000dEaD';
  if (typeof v === 'string' && /^\d+$/.test(v)) return (BigInt(v) + 1n).toString();
  return `${String(v)} (edited)`;
};

describe('compareStores', () => {
  it('finds no difference between PostgreSQL and the documents it was filled from, in any order', async () => {
    const expected = { pgCount: 3, mongoCount: 3, onlyInPg: [], onlyInMongo: [], different: [], samples: [] };
    expect(await compareWith(sampleLegacyDeals())).toEqual(expected);
    expect(await compareWith(sampleLegacyDeals().reverse())).toEqual(expected);
  });

  it('compares money exactly: other spellings of the same amount agree, one base unit does not', async () => {
    const { draft, awaiting, delivered } = samplesBy();
    const respelled = { ...draft, price: '0250000000', amountDue: '250000000.0', confirmedAmount: '0.000' };
    const lowerCase = {
      ...awaiting,
      token: awaiting.token.toLowerCase(),
      deadlines: {
        ...awaiting.deadlines,
        payment: new Date(awaiting.deadlines.payment?.getTime() as number),
      },
    };
    const oneUnitMore = { ...delivered, confirmedAmount: '1600000000000000001' };
    const result = await compareWith([respelled, lowerCase, oneUnitMore]);
    expect(result.different).toEqual([{ id: SAMPLE_DEAL_IDS.delivered, fields: ['confirmedAmount'] }]);
    expect(result.samples).toEqual([
      {
        id: SAMPLE_DEAL_IDS.delivered,
        field: 'confirmedAmount',
        pg: '1600000000000000000',
        mongo: '1600000000000000001',
      },
    ]);
  });

  it('compares every field of the legacy shape, each reported under its own name', async () => {
    const { delivered } = samplesBy();
    const fields = leaves(delivered).filter((f) => f !== '_id');
    expect(COMPARED_DEAL_FIELDS.toSorted()).toEqual(fields.toSorted());
    for (const field of fields) {
      const copy = structuredClone(delivered) as unknown as Record<string, unknown>;
      setAt(copy, field, (v) => changed(field, v));
      const result = await compareWith([copy]);
      expect(result.different, field).toEqual([{ id: SAMPLE_DEAL_IDS.delivered, fields: [field] }]);
    }
  });

  it('reports a price one unit off as the price, even though it breaks the document arithmetic', async () => {
    const { awaiting } = samplesBy();
    const result = await compareWith([{ ...awaiting, price: '1000000001' }]);
    expect(result.different).toEqual([{ id: SAMPLE_DEAL_IDS.awaitingPayment, fields: ['price'] }]);
  });

  it('reports a party or deposit present on one side only, and dates by their time value', async () => {
    const { draft, awaiting, delivered } = samplesBy();
    const result = await compareWith([
      { ...draft, buyer: { ...awaiting.buyer } },
      { ...awaiting, depositAddress: null },
      { ...delivered, deadlines: { ...delivered.deadlines, inspection: null }, createdAt: new Date(0) },
    ]);
    expect(result.different).toEqual(
      [
        { id: SAMPLE_DEAL_IDS.draft, fields: ['buyer'] },
        { id: SAMPLE_DEAL_IDS.awaitingPayment, fields: ['depositAddress'] },
        { id: SAMPLE_DEAL_IDS.delivered, fields: ['deadlines.inspection', 'createdAt'] },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(result.samples).toContainEqual({
      id: SAMPLE_DEAL_IDS.delivered,
      field: 'deadlines.inspection',
      pg: '2025-05-12T18:00:00.000Z',
      mongo: 'null',
    });
  });

  it('lists ids found on one side only, and malformed MongoDB documents by the fields that are wrong', async () => {
    const { draft, awaiting } = samplesBy();
    const stray = { ...draft, _id: randomUUID() };
    const result = await compareWith([
      stray,
      { ...awaiting, fee: 10_000_000, windows: { paymentSec: '7200' } },
    ]);
    expect(result).toMatchObject({
      pgCount: 3,
      mongoCount: 2,
      onlyInPg: [SAMPLE_DEAL_IDS.draft, SAMPLE_DEAL_IDS.delivered].toSorted(),
    });
    expect(result.onlyInMongo).toEqual([stray._id]);
    expect(result.different).toEqual([
      {
        id: SAMPLE_DEAL_IDS.awaitingPayment,
        fields: ['fee', 'windows.paymentSec', 'windows.deliverySec', 'windows.inspectionSec'],
      },
    ]);
    expect(result.samples[0]).toMatchObject({
      field: 'fee',
      pg: '10000000',
      mongo: expect.stringMatching(/^invalid: /),
    });
  });

  it('keeps at most sampleLimit sample values however much differs', async () => {
    const docs = sampleLegacyDeals().map((d) => ({
      ...d,
      title: 'x',
      description: 'y',
      hasPayments: !d.hasPayments,
    }));
    const result = await compareStores({
      pgDeals: pgDealsAsLegacy(db.pool),
      mongoDeals: docs,
      sampleLimit: 4,
    });
    expect(result.different).toHaveLength(3);
    expect(result.samples).toHaveLength(4);
  });
});

describe('pgDealsAsLegacy', () => {
  it('streams every deal once, in id order, across batches', async () => {
    const ids: string[] = [];
    for await (const doc of pgDealsAsLegacy(db.pool, { batchSize: 1 })) ids.push(doc._id);
    expect(ids).toEqual(Object.values(SAMPLE_DEAL_IDS).toSorted());
  });
});
