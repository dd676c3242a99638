import { mirrorJobId, mirrorJobSchema } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../devstack/testing.ts';
import { upsertTelegramUser } from './users.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const mirrorRows = async () =>
  (await db.pool.query(`SELECT job_id, payload FROM outbox WHERE target = 'mirror' ORDER BY id`)).rows;

describe('upsertTelegramUser', () => {
  it('creates once, bumps the version only on a real change, and keeps the chosen language', async () => {
    const a = await upsertTelegramUser(db.pool, { telegramId: 42n, username: 'amir', language: 'ru' });
    const same = await upsertTelegramUser(db.pool, { telegramId: 42n, username: 'amir', language: 'en' });
    expect(same).toEqual(a);
    const renamed = await upsertTelegramUser(db.pool, { telegramId: 42n, username: 'amir_k' });
    expect(renamed).toMatchObject({ id: a.id, version: 2, username: 'amir_k', language: 'ru' });
    expect(await mirrorRows()).toEqual([]);
  });

  it('in dual mode mirrors each created or changed user with core’s job id and payload', async () => {
    const u = await upsertTelegramUser(db.pool, { telegramId: 7n, username: 'a' }, { storageMode: 'dual' });
    await upsertTelegramUser(db.pool, { telegramId: 7n, username: 'a' }, { storageMode: 'dual' });
    const v2 = await upsertTelegramUser(db.pool, { telegramId: 7n, username: 'b' }, { storageMode: 'dual' });
    const rows = await mirrorRows();
    const expected = [u, v2].map((x) => ({ entity: 'user' as const, id: x.id, version: x.version }));
    expect(rows.map((r) => mirrorJobSchema.parse(r.payload))).toEqual(expected);
    expect(rows.map((r) => r.job_id)).toEqual(expected.map(mirrorJobId));
  });
});
