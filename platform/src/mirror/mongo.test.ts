import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../devstack/testing.ts';
import { backfillDeals, backfillUsers } from './backfill.ts';
import { compareStores, pgDealsAsLegacy } from './compare.ts';
import { type LegacyDealDoc, legacyDealSchema } from './legacy-shape.ts';
import { connectLegacyMongo, type LegacyMongo, MongoMirror } from './mirror.ts';
import { SAMPLE_DEAL_IDS, sampleLegacyDeals, sampleLegacyUsers } from './samples.ts';

// No MongoDB server runs on the development machines: these run wherever MONGO_URL points at one.
const MONGO_URL = process.env.MONGO_URL;
if (!MONGO_URL) console.log('MongoDB tests skipped: MONGO_URL is not set');

describe.skipIf(!MONGO_URL)('the real MongoDB legacy store', () => {
  const dbName = `amanat_test_${randomBytes(6).toString('hex')}`;
  let db: TestDatabase;
  let mongo: LegacyMongo;
  let mirror: MongoMirror;

  beforeAll(async () => {
    db = await createTestDatabase();
    mongo = await connectLegacyMongo(MONGO_URL as string, dbName);
    mirror = new MongoMirror(mongo);
  });
  afterAll(async () => {
    await mongo?.client.db(dbName).dropDatabase();
    await mirror?.close();
    await db?.close();
  });

  const sample = (): LegacyDealDoc => sampleLegacyDeals()[1] as LegacyDealDoc;

  it('writes a newer version, and refuses an equal or older one without touching the document', async () => {
    const doc = { ...sample(), _id: randomUUID() };
    expect(await mirror.writeDeal(doc)).toBe('written');
    expect(await mirror.writeDeal({ ...doc, version: 2, title: 'older' })).toBe('stale');
    expect(await mirror.writeDeal({ ...doc, title: 'same version' })).toBe('stale');
    const stored = await mongo.deals.findOne({ _id: doc._id });
    expect(legacyDealSchema.parse(stored)).toEqual(doc);

    expect(await mirror.writeDeal({ ...doc, version: 4, title: 'newer' })).toBe('written');
    expect(await mongo.deals.findOne({ _id: doc._id })).toMatchObject({ version: 4, title: 'newer' });
  });

  it('of many versions written at once, in any order, the newest is what stays', async () => {
    const doc = { ...sample(), _id: randomUUID() };
    const versions = [5, 2, 9, 1, 7, 3, 10, 4, 8, 6];
    const results = await Promise.all(
      versions.map((version) => mirror.writeDeal({ ...doc, version, title: `v${version}` })),
    );
    expect(results).toContain('written');
    expect(await mongo.deals.findOne({ _id: doc._id })).toMatchObject({ version: 10, title: 'v10' });
  });

  it('guards users the same way', async () => {
    const user = {
      ...(sampleLegacyUsers()[0] as NonNullable<ReturnType<typeof sampleLegacyUsers>[0]>),
      _id: randomUUID(),
    };
    expect(await mirror.writeUser(user)).toBe('written');
    expect(await mirror.writeUser({ ...user, version: 1, displayName: 'old' })).toBe('stale');
    expect(await mongo.users.findOne({ _id: user._id })).toMatchObject({ displayName: user.displayName });
  });

  it('backfills from real collections, then finds them equal, and finds one base unit changed', async () => {
    await mongo.deals.deleteMany({});
    await mongo.users.deleteMany({});
    await mongo.users.insertMany(sampleLegacyUsers());
    await mongo.deals.insertMany(sampleLegacyDeals());

    expect(await backfillUsers({ pool: db.pool, docs: mongo.users.find({}).sort({ _id: 1 }) })).toMatchObject(
      {
        imported: 3,
      },
    );
    expect(await backfillDeals({ pool: db.pool, docs: mongo.deals.find({}).sort({ _id: 1 }) })).toEqual({
      imported: 3,
      skipped: 0,
      invalid: [],
    });
    const compare = () =>
      compareStores({ pgDeals: pgDealsAsLegacy(db.pool), mongoDeals: mongo.deals.find({}).sort({ _id: 1 }) });
    expect(await compare()).toMatchObject({
      pgCount: 3,
      mongoCount: 3,
      onlyInPg: [],
      onlyInMongo: [],
      different: [],
    });

    await mongo.deals.updateOne(
      { _id: SAMPLE_DEAL_IDS.delivered },
      { $set: { confirmedAmount: '1600000000000000001' } },
    );
    expect((await compare()).different).toEqual([
      { id: SAMPLE_DEAL_IDS.delivered, fields: ['confirmedAmount'] },
    ]);
  });
});
