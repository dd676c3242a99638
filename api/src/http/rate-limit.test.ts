import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../testing.ts';

/** Rate limits per user and per IP, kept in Redis, answered with 429 and Retry-After. */

let t: TestApi | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});
afterAll(async () => {
  await t?.close();
});

function expectLimited(res: { status: number; body: Record<string, unknown>; headers: Headers }) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('rate_limited');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('per user', () => {
  it('answers the request over the limit with 429, and counts each user alone', async () => {
    t = await startTestApi({ RATE_LIMIT_USER_PER_MIN: '3' });
    const api = t;
    const [alice, bob] = await Promise.all([api.signIn(700_001), api.signIn(700_002)]);
    for (let i = 0; i < 3; i++)
      expect((await api.call('GET', '/api/deals', { token: alice })).status).toBe(200);
    expectLimited(await api.call('GET', '/api/deals', { token: alice }));

    // The limit follows the user, not the address they come from.
    const elsewhere = await api.call('GET', '/api/deals', {
      token: alice,
      headers: { 'x-forwarded-for': '198.51.100.23' },
    });
    expectLimited(elsewhere);

    // A limited write writes nothing.
    const create = await api.call('POST', '/api/deals', {
      token: alice,
      body: {
        title: 'Lamp',
        amount: '10',
        asset: { chainId: 31337, token: 'native' },
        role: 'seller',
        address: '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045',
      },
      headers: { 'idempotency-key': 'limited-write' },
    });
    expectLimited(create);
    const { rows } = await api.db.pool.query(
      'SELECT (SELECT count(*) FROM deals)::int AS deals, (SELECT count(*) FROM idempotency_keys)::int AS keys',
    );
    expect(rows[0]).toEqual({ deals: 0, keys: 0 });

    expect((await api.call('GET', '/api/deals', { token: bob })).status).toBe(200);
  });
});

describe('per IP', () => {
  it('answers the request over the limit with 429; health checks and other clients are not affected', async () => {
    t = await startTestApi({ RATE_LIMIT_IP_PER_MIN: '4' });
    const api = t;
    for (let i = 0; i < 4; i++) expect((await api.call('GET', '/api/assets')).status).toBe(200);
    const limited = await api.call('GET', '/api/assets');
    expectLimited(limited);
    // Every route of this client is over its limit now, signed in or not.
    expectLimited(await api.call('POST', '/api/auth/telegram', { body: { initData: 'x' } }));

    expect((await api.call('GET', '/healthz')).status).toBe(200);
    expect((await api.call('GET', '/readyz')).status).toBe(200);
    // The payment callback's signature is its gate; the per-IP limit leaves it alone.
    expect((await api.call('POST', '/api/payment/callback', { body: {} })).status).not.toBe(429);

    // Behind the (trusted, loopback) proxy, another client has its own budget.
    const other = await api.call('GET', '/api/assets', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(other.status).toBe(200);
  });
});
