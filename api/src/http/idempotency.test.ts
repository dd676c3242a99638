import type { Actor } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PAYOUT_ADDRESS as PAYOUT,
  REFUND_ADDRESS as REFUND,
  startTestApi,
  type TestApi,
  LOCAL_USDT as USDT,
} from '../testing.ts';
import { CLAIM_LEASE_SEC } from './idempotency.ts';

/** Idempotency-Key on POSTs: a retry gets the first answer and changes nothing. */

const SYSTEM: Actor = { kind: 'system', component: 'test' };

let t: TestApi;
let alice: string;
let bob: string;
let keySeq = 0;

beforeAll(async () => {
  t = await startTestApi();
  [alice, bob] = await Promise.all([t.signIn(400_001), t.signIn(400_002)]);
});
afterAll(async () => {
  await t?.close();
});

const newKey = () => `key-${process.pid}-${++keySeq}`;

const createBody = (title = 'Laptop') => ({
  title,
  amount: '250.5',
  asset: { chainId: 31337, token: USDT },
  role: 'seller',
  address: PAYOUT,
});

const post = (path: string, token: string, body: unknown, key?: string) =>
  t.call('POST', path, {
    token,
    body,
    ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
  });

const dealCount = async () =>
  (await t.db.pool.query('SELECT count(*)::int AS n FROM deals')).rows[0].n as number;

describe('Idempotency-Key', () => {
  it('a repeat returns the first answer, marked as replayed, and creates nothing', async () => {
    const key = newKey();
    const before = await dealCount();
    const first = await post('/api/deals', alice, createBody(), key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await dealCount()).toBe(before + 1);

    for (let i = 0; i < 3; i++) {
      const again = await post('/api/deals', alice, createBody(), key);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
    }
    expect(await dealCount()).toBe(before + 1);

    // The same JSON with its keys in another order is the same request.
    const { title, ...rest } = createBody();
    const reordered = await post('/api/deals', alice, { ...rest, title }, key);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expect(reordered.body.id).toBe(first.body.id);

    // Without a key, a repeat is a new request.
    const unkeyed = await post('/api/deals', alice, createBody());
    expect(unkeyed.status).toBe(201);
    expect(unkeyed.body.id).not.toBe(first.body.id);
    expect(await dealCount()).toBe(before + 2);
  });

  it('replays the first answer byte for byte', async () => {
    const key = newKey();
    const send = () =>
      fetch(`${t.url}/api/deals`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${alice}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(createBody('Bytes')),
      });
    const first = await send();
    const again = await send();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.status).toBe(first.status);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await again.text()).toBe(await first.text());
  });

  it('keeps a key for 24 hours', async () => {
    const key = newKey();
    await post('/api/deals', alice, createBody(), key);
    const { rows } = await t.db.pool.query(
      `SELECT expires_at - created_at = interval '24 hours' AS day FROM idempotency_keys WHERE key = $1`,
      [key],
    );
    expect(rows).toEqual([{ day: true }]);
  });

  it('the same key with a different body is refused with 422 and writes nothing', async () => {
    const key = newKey();
    const first = await post('/api/deals', alice, createBody('One'), key);
    expect(first.status).toBe(201);
    const before = await dealCount();
    const other = await post('/api/deals', alice, createBody('Two'), key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await dealCount()).toBe(before);
  });

  it('is scoped per user: another user with the same key is a separate request', async () => {
    const key = newKey();
    const a = await post('/api/deals', alice, createBody('Shared key'), key);
    const b = await post('/api/deals', bob, createBody('Shared key'), key);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.seller.userId).not.toBe(a.body.seller.userId);
    // And with a different body for bob, no 422: the keys do not meet.
    const key2 = newKey();
    await post('/api/deals', alice, createBody('A'), key2);
    expect((await post('/api/deals', bob, createBody('B'), key2)).status).toBe(201);
  });

  it('is scoped per route: the same key on another route or another deal is a separate request', async () => {
    const key = newKey();
    const created = await post('/api/deals', alice, createBody(), key);
    expect(created.status).toBe(201);
    const other = await post('/api/deals', alice, createBody(), newKey());

    const cancelA = await post(`/api/deals/${created.body.id}/cancel`, alice, {}, key);
    expect(cancelA.status).toBe(200);
    expect(cancelA.body.state).toBe('cancelled');
    expect(cancelA.headers.get('idempotent-replayed')).toBeNull();

    const cancelB = await post(`/api/deals/${other.body.id}/cancel`, alice, {}, key);
    expect(cancelB.status).toBe(200);
    expect(cancelB.body.id).toBe(other.body.id);
    expect(cancelB.headers.get('idempotent-replayed')).toBeNull();
  });

  it('the route scope does not depend on how the path is spelled', async () => {
    const key = newKey();
    const before = await dealCount();
    const first = await post('/api/deals', alice, createBody(), key);
    expect(first.status).toBe(201);
    // Express routes these to the same handler; they must not be a way around the key.
    for (const spelling of ['/api/deals/', '/API/Deals']) {
      const again = await post(spelling, alice, createBody(), key);
      expect(again.status, spelling).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.id).toBe(first.body.id);
    }
    expect(await dealCount()).toBe(before + 1);

    const deal = await post('/api/deals', alice, createBody(), newKey());
    const actionKey = newKey();
    const cancel = await post(`/api/deals/${deal.body.id}/cancel`, alice, {}, actionKey);
    expect(cancel.status).toBe(200);
    const upper = await post(`/api/deals/${deal.body.id.toUpperCase()}/cancel`, alice, {}, actionKey);
    expect(upper.headers.get('idempotent-replayed')).toBe('true');
    expect(upper.body).toEqual(cancel.body);
  });

  it('a rejected first answer is replayed as it was, even after the rejection stopped being true', async () => {
    const seller = alice;
    const deal = await post('/api/deals', seller, createBody(), newKey());
    await post('/api/deals/join', bob, { code: deal.body.invite.code, address: REFUND });
    await post(`/api/deals/${deal.body.id}/accept`, seller, {});
    await post(`/api/deals/${deal.body.id}/accept`, bob, {});

    const key = newKey();
    const early = await post(`/api/deals/${deal.body.id}/deliver`, seller, {}, key);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('action_not_allowed_in_state');

    const due = deal.body.amountDue;
    await t.api.ctx.store.act(
      deal.body.id,
      {
        type: 'record_funding',
        funding: 'funded',
        confirmed: BigInt(due),
        confirming: 0n,
        reviewReasons: [],
      },
      SYSTEM,
    );
    const replay = await post(`/api/deals/${deal.body.id}/deliver`, seller, {}, key);
    expect(replay.status).toBe(409);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(replay.body).toEqual(early.body);
    expect((await t.call('GET', `/api/deals/${deal.body.id}`, { token: seller })).body.state).toBe('funded');

    // A 422 from the handler is an answer too.
    const badKey = newKey();
    const unknownToken = { ...createBody(), asset: { chainId: 31337, token: REFUND } };
    const rejected = await post('/api/deals', alice, unknownToken, badKey);
    expect(rejected.status).toBe(422);
    const again = await post('/api/deals', alice, unknownToken, badKey);
    expect(again.status).toBe(422);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(rejected.body);
  });

  it('a lost race (version_conflict) is not kept as the answer: the key may be retried', async () => {
    const deal = await post('/api/deals', alice, createBody(), newKey());
    const key = newKey();
    const stale = { version: deal.body.version + 5 };
    const first = await post(`/api/deals/${deal.body.id}/cancel`, alice, stale, key);
    expect(first.status).toBe(409);
    expect(first.body.code).toBe('version_conflict');
    const { rows } = await t.db.pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
    expect(rows).toEqual([]);
    const retry = await post(`/api/deals/${deal.body.id}/cancel`, alice, stale, key);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('concurrent requests with one key create exactly one deal', async () => {
    const key = newKey();
    const before = await dealCount();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => post('/api/deals', alice, createBody('Race'), key)),
    );
    expect(await dealCount()).toBe(before + 1);
    const fresh = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    const id = fresh[0]?.body.id;
    for (const a of answers) {
      if (a.status === 201) {
        expect(a.body.id).toBe(id);
      } else {
        expect(a.status).toBe(409);
        expect(a.body.code).toBe('idempotency_in_progress');
        expect(a.headers.get('retry-after')).toBe('1');
      }
    }
    // Once the first finished, a retry gets its answer.
    const retry = await post('/api/deals', alice, createBody('Race'), key);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(id);
  });

  it('refuses an invalid key with 400 before doing anything', async () => {
    const before = await dealCount();
    for (const key of ['k'.repeat(300), 'has spaces in it', 'tab\there']) {
      const res = await post('/api/deals', alice, createBody(), key);
      expect(res.status, key).toBe(400);
      expect(res.body.code).toBe('idempotency_key_invalid');
    }
    expect(await dealCount()).toBe(before);
    const longest = await post('/api/deals', alice, createBody(), 'k'.repeat(255));
    expect(longest.status).toBe(201);
  });

  it('an expired key may be used again for a new request', async () => {
    const key = newKey();
    const first = await post('/api/deals', alice, createBody('Old'), key);
    expect(first.status).toBe(201);
    await t.db.pool.query(
      `UPDATE idempotency_keys SET expires_at = now() - interval '1 minute' WHERE key = $1`,
      [key],
    );
    const before = await dealCount();
    const reused = await post('/api/deals', alice, createBody('New'), key);
    expect(reused.status).toBe(201);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();
    expect(reused.body.id).not.toBe(first.body.id);
    expect(reused.body.title).toBe('New');
    expect(await dealCount()).toBe(before + 1);
    // And the new answer is the one now kept.
    const replay = await post('/api/deals', alice, createBody('New'), key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(reused.body.id);
  });

  it('a claim left unanswered (its process died) is taken over after the lease, by the same request only', async () => {
    const key = newKey();
    const body = createBody('Orphaned');
    // What a process that died mid-request leaves: the claim, no answer.
    const claim = await post('/api/deals', alice, body, key);
    await t.db.pool.query(`UPDATE idempotency_keys SET status_code = NULL, response = NULL WHERE key = $1`, [
      key,
    ]);
    const waiting = await post('/api/deals', alice, body, key);
    expect(waiting.status).toBe(409);
    expect(waiting.body.code).toBe('idempotency_in_progress');

    await t.db.pool.query(
      `UPDATE idempotency_keys SET created_at = now() - make_interval(secs => $2 + 1) WHERE key = $1`,
      [key, CLAIM_LEASE_SEC],
    );
    const other = await post('/api/deals', alice, createBody('Something else'), key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const retried = await post('/api/deals', alice, body, key);
    expect(retried.status).toBe(201);
    expect(retried.body.id).not.toBe(claim.body.id);
  });

  it('GETs ignore the header', async () => {
    const res = await t.call('GET', '/api/deals', { token: alice, headers: { 'idempotency-key': 'x y' } });
    expect(res.status).toBe(200);
  });
});
