import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, testInitData } from '../testing.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({}, { logTo: sink });
});
afterAll(() => t?.close());

describe('request logs', () => {
  it('are JSON lines with a request id, and never carry tokens, init data or secrets', async () => {
    const initData = testInitData(4242, { username: 'logged' });
    const signIn = await t.call('POST', '/api/auth/telegram', {
      body: { initData },
      headers: { 'x-request-id': 'req-abc-123' },
    });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get('x-request-id')).toBe('req-abc-123');
    const token = signIn.body.token as string;
    await t.call('GET', `/api/auth/me?token=${token}`, { token });
    await t.call('GET', '/api/auth/me', { headers: { authorization: `tma ${initData}` } });
    await t.call('GET', '/api/deals', {
      headers: { authorization: 'Bearer ses_guessed', cookie: 'amanat_board=x' },
    });
    const bad = await t.call('GET', '/api/deals/not-a-uuid', {
      token,
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    // A request id that is not a plain token is replaced, so logs cannot be forged through it.
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    await new Promise((resolve) => setTimeout(resolve, 50));
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = entries.filter((e) => e.req);
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests[0]).toMatchObject({
      service: 'api',
      req: { id: 'req-abc-123', method: 'POST', path: '/api/auth/telegram' },
      res: { status: 200 },
    });
    const all = lines.join('\n');
    for (const secret of [
      token,
      initData,
      encodeURIComponent(initData),
      'ses_guessed',
      'amanat_board',
      'hash=',
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it('log an unexpected failure with its stack and the request id, and answer a bare 500 problem', async () => {
    const token = await t.signIn(4243);
    const deal = await t.call('POST', '/api/deals', {
      token,
      body: {
        title: 'Lamp',
        amount: '10',
        asset: { chainId: 31337, token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
        role: 'seller',
        address: '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045',
      },
    });
    expect(deal.status).toBe(201);
    // Break storage under the API (this file's own schema): the read fails in a way no input causes.
    await t.db.pool.query('ALTER TABLE payments RENAME TO payments_gone');
    const res = await t.call('GET', `/api/deals/${deal.body.id}`, {
      token,
      headers: { 'x-request-id': 'req-boom-1' },
    });
    await t.db.pool.query('ALTER TABLE payments_gone RENAME TO payments');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: 'https://amanat.app/problems/internal',
      title: 'Internal error',
      status: 500,
      code: 'internal',
      detail: 'Something went wrong on our side; it has been logged',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const failure = lines.map((l) => JSON.parse(l)).find((e) => e.msg === 'request failed');
    expect(failure).toMatchObject({ level: 50, reqId: 'req-boom-1', path: `/api/deals/${deal.body.id}` });
    expect(failure.err.message).toContain('payments');
    expect(failure.err.stack).toContain('\n    at ');
  });
});
