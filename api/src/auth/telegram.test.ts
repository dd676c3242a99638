import { setTimeout as sleep } from 'node:timers/promises';
import { apiConfigSchema, ConfigError, loadConfig } from '@amanat/core';
import { sign, signData } from '@telegram-apps/init-data-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startTestApi, TEST_BOT_TOKEN, type TestApi, testApiEnv } from '../testing.ts';
import { MAX_SESSIONS_PER_USER, sessionIdOf } from './sessions.ts';

/**
 * Telegram sign-in, checked against init data signed by an independent implementation
 * (@telegram-apps/init-data-node), so a mistake shared by our signer and our validator cannot hide.
 */

const OTHER_BOT_TOKEN = '7000002:AAH-another-bot-token-entirely-0123456789';

let t: TestApi;

beforeAll(async () => {
  // The shortest session lifetime configuration allows, so the expiry test below has a real TTL to cut.
  t = await startTestApi({ SESSION_TTL_SEC: '300' });
});
afterAll(async () => {
  await t?.close();
});

const tgUser = (id: number) => ({
  id,
  first_name: 'Amir',
  last_name: 'K',
  username: `u${id}`,
  language_code: 'ru',
});

const signed = (id: number, opts: { token?: string; authDate?: Date } = {}) =>
  sign({ user: tgUser(id), query_id: `q${id}` }, opts.token ?? TEST_BOT_TOKEN, opts.authDate ?? new Date());

/** Init data with exactly these fields, signed correctly by the library: for content our validator must reject. */
function signedFields(fields: Record<string, string>): string {
  const checkString = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('\n');
  const params = new URLSearchParams(fields);
  params.set('hash', signData(checkString, TEST_BOT_TOKEN));
  return params.toString();
}

const nowSec = () => String(Math.floor(Date.now() / 1000));

const signInWith = (initData: string) => t.call('POST', '/api/auth/telegram', { body: { initData } });
const meWithInitData = (initData: string) =>
  t.call('GET', '/api/auth/me', { headers: { authorization: `tma ${initData}` } });

async function userCount(): Promise<number> {
  const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM users');
  return rows[0].n;
}

describe('POST /api/auth/telegram with independently signed init data', () => {
  it('issues a session that authenticates, and the raw init data authenticates directly too', async () => {
    const initData = signed(410_001);
    const res = await signInWith(initData);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token).toMatch(/^ses_/);
    expect(res.body.user).toMatchObject({ telegramId: '410001', username: 'u410001', displayName: 'Amir K' });

    const me = await t.call('GET', '/api/auth/me', { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: res.body.user.id, telegramId: '410001', roles: [] });

    const direct = await meWithInitData(initData);
    expect(direct.status, JSON.stringify(direct.body)).toBe(200);
    expect(direct.body.id).toBe(res.body.user.id);
  });

  it('refuses tampered, foreign, expired and malformed init data with 401 problems and writes no user', async () => {
    const before = await userCount();
    const maxAge = t.config.TELEGRAM_AUTH_MAX_AGE;

    // A field changed after signing: the user claims to be someone else.
    const tamperedUser = new URLSearchParams(signed(420_001));
    tamperedUser.set('user', JSON.stringify(tgUser(420_002)));
    // The date moved forward to revive old data.
    const tamperedDate = new URLSearchParams(signed(420_003, { authDate: new Date(Date.now() - 3600_000) }));
    tamperedDate.set('auth_date', nowSec());

    const noHash = new URLSearchParams(signed(420_005));
    noHash.delete('hash');
    const duplicated = `${signed(420_006)}&user=${encodeURIComponent(JSON.stringify(tgUser(420_007)))}`;
    const duplicatedHash = `${signed(420_008)}&hash=${'0'.repeat(64)}`;

    const cases: Array<[string, string, string]> = [
      ['a field changed after signing', tamperedUser.toString(), 'init_data_signature_invalid'],
      ['auth_date changed after signing', tamperedDate.toString(), 'init_data_signature_invalid'],
      [
        'signed with another bot token',
        signed(420_004, { token: OTHER_BOT_TOKEN }),
        'init_data_signature_invalid',
      ],
      [
        'older than TELEGRAM_AUTH_MAX_AGE',
        signed(420_009, { authDate: new Date(Date.now() - (maxAge + 120) * 1000) }),
        'init_data_expired',
      ],
      [
        'dated an hour in the future',
        signed(420_010, { authDate: new Date(Date.now() + 3600_000) }),
        'init_data_malformed',
      ],
      ['without a hash', noHash.toString(), 'init_data_malformed'],
      ['a repeated field', duplicated, 'init_data_malformed'],
      ['a repeated hash', duplicatedHash, 'init_data_malformed'],
      ['garbage', 'definitely not init data %%% ;;', 'init_data_malformed'],
      ['a hash that is not hex', `auth_date=${nowSec()}&hash=${'z'.repeat(64)}`, 'init_data_malformed'],
      [
        'a user that is not JSON',
        signedFields({ auth_date: nowSec(), user: '{"id":420011,' }),
        'init_data_malformed',
      ],
      [
        'a user without an id',
        signedFields({ auth_date: nowSec(), user: JSON.stringify({ first_name: 'Nobody' }) }),
        'init_data_malformed',
      ],
      [
        'a negative user id',
        signedFields({ auth_date: nowSec(), user: JSON.stringify({ id: -5, first_name: 'Neg' }) }),
        'init_data_malformed',
      ],
      ['no user at all', signedFields({ auth_date: nowSec(), query_id: 'q' }), 'init_data_malformed'],
      ['no auth_date', signedFields({ user: JSON.stringify(tgUser(420_012)) }), 'init_data_malformed'],
    ];

    for (const [what, initData, code] of cases) {
      const viaBody = await signInWith(initData);
      expectProblem(viaBody, 401, code);
      expect(viaBody.body.code, what).toBe(code);
      const viaHeader = await meWithInitData(initData);
      expectProblem(viaHeader, 401, code);
      expect(viaHeader.body.code, what).toBe(code);
    }

    // Longer than any real init data: the header path answers init_data_malformed; the body path's
    // schema bounds the field first (400 validation_failed). Neither signs anyone in.
    const tooLong = `${signed(420_013)}&padding=${'x'.repeat(9000)}`;
    expectProblem(await meWithInitData(tooLong), 401, 'init_data_malformed');
    expectProblem(await signInWith(tooLong), 400, 'validation_failed');

    expect(await userCount()).toBe(before);
    const { rows } = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM users WHERE telegram_id BETWEEN 420000 AND 420999',
    );
    expect(rows[0].n).toBe(0);
  });

  it('answers a bad Authorization header with 401 problems', async () => {
    for (const [authorization, code] of [
      ['Bearer ses_notarealtokenatallnotarealtokenatallnotarealtoke', 'session_invalid'],
      ['Bearer', 'auth_malformed'],
      ['Basic dXNlcjpwYXNz', 'auth_malformed'],
    ] as const) {
      expectProblem(await t.call('GET', '/api/auth/me', { headers: { authorization } }), 401, code);
    }
    expectProblem(await t.call('GET', '/api/auth/me'), 401, 'auth_required');
  });
});

describe('sessions', () => {
  it('logout revokes the session and only that one', async () => {
    const first = await t.signIn(430_001);
    const second = await t.signIn(430_001);
    expect((await t.call('POST', '/api/auth/logout', { token: first })).status).toBe(204);
    expectProblem(await t.call('GET', '/api/auth/me', { token: first }), 401, 'session_invalid');
    expectProblem(await t.call('POST', '/api/auth/logout', { token: first }), 401, 'session_invalid');
    expect((await t.call('GET', '/api/auth/me', { token: second })).status).toBe(200);
  });

  it('a session lives SESSION_TTL_SEC in Redis and stops working once it expires', async () => {
    const token = await t.signIn(430_002);
    const key = `${t.redis.prefix}:session:${sessionIdOf(token)}`;
    const ttl = await t.redis.redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);
    expect((await t.call('GET', '/api/auth/me', { token })).status).toBe(200);

    await t.redis.redis.pexpire(key, 1);
    for (let i = 0; i < 200 && (await t.redis.redis.exists(key)); i++) await sleep(5);
    expect(await t.redis.redis.exists(key)).toBe(0);
    expectProblem(await t.call('GET', '/api/auth/me', { token }), 401, 'session_invalid');
  });

  it(`a user keeps at most ${MAX_SESSIONS_PER_USER} sessions: signing in again ends the oldest`, async () => {
    const tokens: string[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_USER + 5; i++) tokens.push(await t.signIn(430_004));
    const live = await Promise.all(
      tokens.map((token) => t.redis.redis.exists(`${t.redis.prefix}:session:${sessionIdOf(token)}`)),
    );
    expect(live).toEqual([...Array(5).fill(0), ...Array(MAX_SESSIONS_PER_USER).fill(1)]);
    expectProblem(await t.call('GET', '/api/auth/me', { token: tokens[0] }), 401, 'session_invalid');
    expect((await t.call('GET', '/api/auth/me', { token: tokens.at(-1) })).status).toBe(200);
  });

  it('the stored session is keyed by a hash of the token, never the token itself', async () => {
    const token = await t.signIn(430_003);
    const keys = await t.redis.redis.keys(`${t.redis.prefix}:session:*`);
    expect(keys.some((k) => k.includes(token))).toBe(false);
    expect(keys).toContain(`${t.redis.prefix}:session:${sessionIdOf(token)}`);
  });
});

describe('development sign-in', () => {
  it('does not exist unless DEV_SIGN_IN=true', async () => {
    expectProblem(
      await t.call('POST', '/api/auth/dev', { body: { telegramId: 440_001 } }),
      404,
      'route_not_found',
    );
  });

  it('signs in any Telegram id when DEV_SIGN_IN=true', async () => {
    const dev = await startTestApi({ DEV_SIGN_IN: 'true' });
    try {
      const res = await dev.call('POST', '/api/auth/dev', {
        body: { telegramId: 440_002, username: 'dev_user' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.user).toMatchObject({ telegramId: '440002', username: 'dev_user' });
      const me = await dev.call('GET', '/api/auth/me', { token: res.body.token });
      expect(me.body.telegramId).toBe('440002');
    } finally {
      await dev.close();
    }
  });

  it('cannot be configured in production', () => {
    const env = { ...testApiEnv(t.db, t.redis), NODE_ENV: 'production', DEV_SIGN_IN: 'true' };
    let error: unknown;
    try {
      loadConfig('api', apiConfigSchema, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.some((p) => p.startsWith('DEV_SIGN_IN:'))).toBe(true);
    // The same environment without the flag is a valid production configuration: the flag is the reason.
    expect(() => loadConfig('api', apiConfigSchema, { ...env, DEV_SIGN_IN: 'false' })).not.toThrow();
  });
});
