import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectProblem,
  PAYOUT_ADDRESS as PAYOUT,
  startTestApi,
  type TestApi,
  LOCAL_USDT as USDT,
} from '../testing.ts';

/** Bad input is refused with a 4xx problem+json that names what is wrong, and nothing is written. */

/** PAYOUT with one letter's case flipped: a typo the EIP-55 checksum catches. */
const BAD_CHECKSUM = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045'.replace('dA6', 'Da6');

let t: TestApi;
let token: string;
beforeAll(async () => {
  t = await startTestApi();
  token = await t.signIn(500_001);
});
afterAll(async () => {
  await t?.close();
});

const validBody = (over: Record<string, unknown> = {}) => ({
  title: 'Guitar',
  amount: '120.25',
  asset: { chainId: 31337, token: USDT },
  role: 'seller',
  address: PAYOUT,
  ...over,
});

const counts = async () => {
  const { rows } = await t.db.pool.query(
    `SELECT (SELECT count(*) FROM deals)::int AS deals, (SELECT count(*) FROM activity_log)::int AS log,
       (SELECT count(*) FROM outbox)::int AS outbox, (SELECT count(*) FROM idempotency_keys)::int AS keys`,
  );
  return rows[0];
};

async function call(
  what: string,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
) {
  const res = await t.call(method, path, {
    ...(opts.auth === false ? {} : { token }),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    headers: { 'idempotency-key': randomUUID(), ...opts.headers },
  });
  if (res.status >= 300) expectProblem(res, undefined, undefined, what);
  return res;
}

/** Posts a body that must be refused, and checks that nothing at all was written. */
async function refused(what: string, body: unknown, headers: Record<string, string> = {}) {
  const before = await counts();
  const res = await call(what, 'POST', '/api/deals', { body, headers });
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  const after = await counts();
  // A handler's 422 is the kept answer to its Idempotency-Key; a request refused before that keeps nothing.
  if (res.status === 422) expect(after.keys).toBe(before.keys + 1);
  expect({ ...after, keys: before.keys }).toEqual(before);
  if (res.status !== 422) expect(after.keys).toBe(before.keys);
  return res;
}

const fieldErrors = (body: { errors?: Array<{ in: string; path: string }> }) =>
  (body.errors ?? []).map((e) => `${e.in}:${e.path}`);

describe('money and assets', () => {
  it('accepts a valid deal (the baseline the refusals below differ from)', async () => {
    const res = await call('valid', 'POST', '/api/deals', { body: validBody() });
    expect(res.status).toBe(201);
    expect(res.body.price).toBe('120250000');
  });

  it('refuses an amount with more decimals than the token has, with the money error code', async () => {
    const res = await refused('too precise', validBody({ amount: '1.1234567' }));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('amount_too_precise');
    expect(res.body.detail).toMatch(/6 decimals/);
    // The same digits are fine for an 18-decimal asset.
    const eth = await call('native', 'POST', '/api/deals', {
      body: validBody({ amount: '1.1234567', asset: { chainId: 31337, token: 'native' } }),
    });
    expect(eth.status).toBe(201);
    expect(eth.body.price).toBe('1123456700000000000');
  });

  it('refuses amounts that are not plain positive decimals with their own codes', async () => {
    for (const [amount, code] of [
      ['1e6', 'amount_exponent'],
      ['-5', 'amount_negative'],
      ['0', 'amount_zero'],
      ['1,000.00', 'amount_not_numeric'],
      ['9'.repeat(40), 'amount_too_large'],
    ]) {
      const res = await refused(`amount ${amount}`, validBody({ amount }));
      expect(res.status, amount).toBe(422);
      expect(res.body.code).toBe(code);
    }
    const number = await refused('amount as number', validBody({ amount: 5 }));
    expect(number.status).toBe(400);
    expect(fieldErrors(number.body)).toContain('body:amount');
  });

  it('refuses an unknown token, an inactive chain and an unknown chain with 422', async () => {
    const unknownToken = await refused(
      'unknown token',
      validBody({ asset: { chainId: 31337, token: '0x1Db3439a222C519ab44bb1144fC28167b4Fa6EE6' } }),
    );
    expect(unknownToken.status).toBe(422);
    expect(unknownToken.body.code).toBe('asset_unknown');

    // Ethereum mainnet is in the registry, but this API has no RPC for it: nobody would see the money.
    const inactive = await refused(
      'inactive chain',
      validBody({ asset: { chainId: 1, token: '0xdAC17F958D2ee523a2206206994597C13D831ec7' } }),
    );
    expect(inactive.status).toBe(422);
    expect(inactive.body.code).toBe('chain_unsupported');

    const unknownChain = await refused(
      'unknown chain',
      validBody({ asset: { chainId: 999_999, token: 'native' } }),
    );
    expect(unknownChain.status).toBe(422);
    expect(unknownChain.body.code).toBe('chain_unsupported');
  });
});

describe('addresses', () => {
  it('refuses a bad checksum, a malformed and the zero address, naming the field', async () => {
    for (const address of [
      BAD_CHECKSUM,
      'hello',
      '0x1234',
      ` ${PAYOUT}`,
      '0x0000000000000000000000000000000000000000',
    ]) {
      const res = await refused(`address ${address}`, validBody({ address }));
      expect(res.status, address).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(fieldErrors(res.body)).toEqual(['body:address']);
    }
    const join = await call('join bad address', 'POST', '/api/deals/join', {
      body: { code: 'ABCDEFGHJK', address: BAD_CHECKSUM },
    });
    expect(join.status).toBe(400);
    expect(fieldErrors(join.body)).toEqual(['body:address']);
  });

  it('matches a token address in any case and stores the registry form', async () => {
    const res = await call('lowercase token', 'POST', '/api/deals', {
      body: validBody({ asset: { chainId: 31337, token: USDT.toLowerCase() } }),
    });
    expect(res.status).toBe(201);
    expect(res.body.asset).toMatchObject({ token: USDT, symbol: 'USDT', decimals: 6 });
  });

  it('accepts a single-case address and stores its checksummed form', async () => {
    const res = await call('lowercase', 'POST', '/api/deals', {
      body: validBody({ address: PAYOUT.toLowerCase() }),
    });
    expect(res.status).toBe(201);
    expect(res.body.seller.address).toBe(PAYOUT);
  });
});

describe('shape of the body', () => {
  it('refuses unknown fields, also the prototype-polluting ones, and lists them', async () => {
    const base = JSON.stringify(validBody()).slice(0, -1);
    for (const [what, raw] of [
      ['extra', `${base},"admin":true}`],
      ['__proto__', `${base},"__proto__":{"polluted":true}}`],
      ['constructor', `${base},"constructor":{"prototype":{"polluted":true}}}`],
      [
        'nested __proto__',
        `${base.replace(`"token":"${USDT}"`, `"token":"${USDT}","__proto__":{"polluted":true}`)}}`,
      ],
    ] as const) {
      const res = await refused(what, raw);
      expect(res.status, what).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('refuses text PostgreSQL could not store as given: NUL characters and broken Unicode', async () => {
    for (const [what, over, field] of [
      ['NUL in the title', { title: 'a\u0000b' }, 'body:title'],
      ['NUL in the description', { description: 'x\u0000y' }, 'body:description'],
      ['lone surrogate', { title: 'guitar \ud800' }, 'body:title'],
    ] as const) {
      const res = await refused(what, validBody(over));
      expect(res.status, what).toBe(400);
      expect(fieldErrors(res.body), what).toEqual([field]);
    }
  });

  it('refuses missing and out-of-bounds fields with every failing field listed', async () => {
    const res = await refused('several wrong', {
      title: '   ',
      amount: '1',
      asset: { chainId: -1, token: 'usdt' },
      role: 'arbitrator',
      address: PAYOUT,
      paymentWindowSec: 60,
    });
    expect(res.status).toBe(400);
    expect(fieldErrors(res.body).sort()).toEqual(
      ['body:asset.chainId', 'body:asset.token', 'body:paymentWindowSec', 'body:role', 'body:title'].sort(),
    );
  });

  it('refuses a body over 64 KB with 413 body_too_large', async () => {
    const res = await refused('huge', validBody({ description: 'x'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
  });

  it('refuses a body that is not JSON with 415, and malformed JSON with 400 body_malformed', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await refused(`type ${type}`, JSON.stringify(validBody()), { 'content-type': type });
      expect(res.status, type).toBe(415);
      expect(res.body.code).toBe('unsupported_media_type');
    }
    for (const raw of ['{"title": ', '{title: "x"}', "{'a': 1}", '\u0000']) {
      const res = await refused(`malformed ${raw}`, raw);
      expect(res.status, raw).toBe(400);
      expect(res.body.code).toBe('body_malformed');
    }
    // A JSON scalar or array is not a request body here either.
    for (const raw of ['null', '"text"', '[]', '42']) {
      const res = await refused(`scalar ${raw}`, raw);
      expect(res.status, raw).toBe(400);
    }
  });

  it('refuses a bad id, a bad query and an unknown route as problems', async () => {
    const badId = await call('bad id', 'GET', '/api/deals/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(fieldErrors(badId.body)).toEqual(['path:id']);
    const badAction = await call('bad id action', 'POST', '/api/deals/123/cancel', { body: {} });
    expect(badAction.status).toBe(400);

    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'status=bogus',
      'scope=all',
      'unknown=1',
      'limit=1&limit=2',
    ]) {
      const res = await call(`query ${query}`, 'GET', `/api/deals?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const route = await call('no route', 'GET', '/api/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body.code).toBe('route_not_found');
    const encoding = await call('bad encoding', 'GET', '/api/deals/%E0%A4%A');
    expect(encoding.status).toBe(400);
  });
});

describe('every refusal', () => {
  it('of every kind is problem+json without a stack trace', async () => {
    const seen = new Set<number>();
    for (const [what, method, path, opts] of [
      ['400', 'POST', '/api/deals', { body: {} }],
      ['401', 'GET', '/api/deals', { auth: false }],
      ['404', 'GET', `/api/deals/${randomUUID()}`, {}],
      ['413', 'POST', '/api/deals', { body: validBody({ description: 'y'.repeat(65 * 1024) }) }],
      ['415', 'POST', '/api/deals', { body: '{}', headers: { 'content-type': 'text/plain' } }],
      ['422', 'POST', '/api/deals', { body: validBody({ amount: '0.0000001' }) }],
    ] as const) {
      const res = await call(what, method, path, opts);
      expect(String(res.status)).toBe(what);
      seen.add(res.status);
    }
    expect(seen.size).toBe(6);
  });
});
