import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActivityEntry,
  appendEntry,
  generateSigningKeyText,
  parseSigningKey,
  parseVerifyKey,
  publicKeyText,
  verifyCheckpointSequence,
} from '@amanat/core';
import {
  createLogger,
  DealStore,
  insertActivity,
  readActivity,
  readCheckpoints,
  verifyDealActivity,
} from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../devstack/testing.ts';
import { awaitingPaymentDeal } from '../../platform/src/deals/test-fixtures.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';

let db: TestDatabase;
let store: DealStore;
let dir: string;
const key = parseSigningKey(generateSigningKeyText());
const verifyKey = parseVerifyKey(publicKeyText(key));

beforeAll(async () => {
  db = await createTestDatabase();
  store = new DealStore({ pool: db.pool });
  dir = mkdtempSync(join(tmpdir(), 'amanat-cp-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.close();
});

const writer = (file: string) =>
  new CheckpointWriter({
    pool: db.pool,
    key,
    file,
    intervalSec: 3600,
    logger: createLogger('test', 'silent'),
  });

/** What someone with write access to the database could do: rewrite a deal's history and re-hash it. */
async function rewriteHistory(dealId: string, edit: (e: ActivityEntry) => ActivityEntry) {
  const entries = await readActivity(db.pool, dealId);
  const rewritten: ActivityEntry[] = [];
  for (const e of entries.map(edit)) {
    const prev = rewritten.at(-1);
    const { hash: _h, prevHash: _p, seq: _s, ...input } = e;
    rewritten.push(appendEntry(prev ? { seq: prev.seq, hash: prev.hash } : null, input));
  }
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE activity_log DISABLE TRIGGER USER');
    await client.query('DELETE FROM activity_log WHERE deal_id = $1', [dealId]);
    for (const e of rewritten) await insertActivity(client, e);
    await client.query('ALTER TABLE activity_log ENABLE TRIGGER USER');
    await client.query('UPDATE deals SET log_head = $2 WHERE id = $1', [dealId, rewritten.at(-1)?.hash]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

describe('activity checkpoints', () => {
  it('signs the heads of every chain into an append-only file, each checkpoint linked to the one before', async () => {
    const file = join(dir, 'a.jsonl');
    const { deal, asBuyer } = await awaitingPaymentDeal(store, db.pool);
    const first = await writer(file).writeOnce();
    expect(first?.heads.find((h) => h.dealId === deal.id)).toEqual({
      dealId: deal.id,
      seq: 4, // create, join, and both acceptances
      hash: deal.logHead,
    });
    await store.act(deal.id, { type: 'cancel' }, asBuyer);
    const second = await writer(file).writeOnce();
    expect(second?.previousDigest).toBe(first?.digest);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(verifyCheckpointSequence(await readCheckpoints(file), verifyKey)).toMatchObject({
      ok: true,
      count: 2,
    });
    const check = await verifyDealActivity({
      db: db.pool,
      dealId: deal.id,
      checkpoints: await readCheckpoints(file),
      verifyKey,
    });
    expect(check).toMatchObject({ ok: true, chain: { ok: true }, checkpoint: { ok: true } });
  });

  it('catches a history rewritten and re-hashed inside the database, and refuses to sign over it', async () => {
    const file = join(dir, 'b.jsonl');
    const { deal } = await awaitingPaymentDeal(store, db.pool);
    await writer(file).writeOnce();
    await rewriteHistory(deal.id, (e) =>
      e.action === 'create' ? { ...e, facts: { ...e.facts, price: '1' } } : e,
    );

    const checkpoints = await readCheckpoints(file);
    const result = await verifyDealActivity({ db: db.pool, dealId: deal.id, checkpoints, verifyKey });
    // The rewritten chain is internally consistent, which is exactly why the checkpoint exists.
    expect(result.chain.ok).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.checkpoint?.ok).toBe(false);
    await expect(writer(file).writeOnce()).rejects.toThrow(/does not match the last checkpoint/);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a checkpoint file edited after signing fails verification', async () => {
    const file = join(dir, 'c.jsonl');
    const { deal } = await awaitingPaymentDeal(store, db.pool);
    await writer(file).writeOnce();
    const edited = readFileSync(file, 'utf8').replace(deal.logHead, 'f'.repeat(64));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, edited);
    const result = await verifyDealActivity({
      db: db.pool,
      dealId: deal.id,
      checkpoints: await readCheckpoints(file),
      verifyKey,
    });
    expect(result.ok).toBe(false);
    expect(result.checkpoint?.reason).toMatch(/checkpoint file/);
  });

  it('a deal stamped before a checkpoint but committed after it does not stop later checkpoints', async () => {
    const file = join(dir, 'd.jsonl');
    const early = new Date();
    await writer(file).writeOnce(new Date(early.getTime() + 1000));
    const parties = await awaitingPaymentDeal(store, db.pool);
    // A slow or skewed writer: its change is stamped before the checkpoint above but lands after it.
    await store.act(parties.deal.id, { type: 'cancel' }, parties.asBuyer, { now: early });
    expect(await writer(file).writeOnce(new Date(early.getTime() + 2000))).not.toBeNull();
    expect(await writer(file).writeOnce(new Date(early.getTime() + 3000))).not.toBeNull();
  });
});
