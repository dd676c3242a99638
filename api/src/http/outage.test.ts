import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../devstack/testing.ts';
import { startTestApi, type TestApi } from '../testing.ts';

let t: TestApi;
let token: string;
beforeAll(async () => {
  t = await startTestApi();
  token = await t.signIn(880_001);
});
afterAll(() => t?.close());

describe('when Redis goes away', () => {
  it('answers 503 problems with Retry-After (never a 500), and /readyz says which dependency fails', async () => {
    expect((await t.call('GET', '/api/auth/me', { token })).status).toBe(200);
    t.apiRedis.disconnect();
    const me = await t.call('GET', '/api/auth/me', { token });
    expect(me.status).toBe(503);
    expect(me.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(me.body.code).toBe('service_unavailable');
    expect(me.headers.get('retry-after')).toBe('5');
    const ready = await t.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not_ready', checks: { postgres: 'ok', redis: 'failing' } });
    // Something (a health probe, say) may already have started the reconnection.
    await t.apiRedis.connect().catch((err: Error) => {
      if (!/already connecting/.test(err.message)) throw err;
    });
    await until('Redis is back', () => t.apiRedis.status === 'ready');
    expect((await t.call('GET', '/api/auth/me', { token })).status).toBe(200);
  });
});
