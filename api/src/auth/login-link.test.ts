import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startTestApi, TEST_SERVICE_SECRET, type TestApi } from '../testing.ts';
import { LOGIN_LINK_TTL_SEC } from './login-link.ts';

/**
 * Browser login through the bot. The nonce is public (it travels in a t.me link); the session must go
 * only to the browser holding the poll secret, exactly once, and only after the bot confirmed.
 */

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const service = { authorization: `Bearer ${TEST_SERVICE_SECRET}` };
const keyOf = (nonce: string) => `${t.redis.prefix}:login-link:${nonce}`;

interface Link {
  nonce: string;
  pollSecret: string;
  link: string;
  expiresAt: string;
}

async function createLink(opts: { body?: unknown; userAgent?: string } = {}): Promise<Link> {
  const res = await t.call('POST', '/api/auth/login-link', {
    body: opts.body ?? {},
    headers: { 'user-agent': opts.userAgent ?? 'Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const poll = (nonce: string, secret?: string, extra: Record<string, string> = {}) =>
  t.call('GET', `/api/auth/login-link/${nonce}`, {
    headers: { ...(secret === undefined ? {} : { 'x-poll-secret': secret }), ...extra },
  });

const inspect = (nonce: string, headers: Record<string, string> = service) =>
  t.call('GET', `/api/internal/login-links/${nonce}`, { headers });

const confirm = (nonce: string, telegramId: number, headers: Record<string, string> = service) =>
  t.call('POST', `/api/internal/login-links/${nonce}/confirm`, {
    headers,
    body: { telegramUser: { id: telegramId, first_name: 'Browser', username: `b${telegramId}` } },
  });

const decline = (nonce: string, headers: Record<string, string> = service) =>
  t.call('POST', `/api/internal/login-links/${nonce}/decline`, { headers });

async function usersWithTelegramId(id: number): Promise<number> {
  const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM users WHERE telegram_id = $1', [id]);
  return rows[0].n;
}

async function expireNow(nonce: string) {
  await t.redis.redis.pexpire(keyOf(nonce), 1);
  for (let i = 0; i < 200 && (await t.redis.redis.exists(keyOf(nonce))); i++) await sleep(5);
  expect(await t.redis.redis.exists(keyOf(nonce))).toBe(0);
}

/** No session in the answer, in any field. */
const expectNoSession = (res: { body: unknown }) => {
  expect(JSON.stringify(res.body)).not.toMatch(/ses_|"token"/);
};

describe('POST /api/auth/login-link', () => {
  it('returns a t.me link with a public nonce and a separate poll secret, and stores only its hash', async () => {
    const link = await createLink();
    expect(link.nonce).toMatch(/^[A-Za-z0-9_-]{22,}$/); // at least 128 bits of base64url
    expect(link.link).toBe(`https://t.me/amanat_test_bot?start=login_${link.nonce}`);
    const start = new URL(link.link).searchParams.get('start') ?? '';
    expect(start).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(link.pollSecret.length).toBeGreaterThanOrEqual(43); // at least 256 bits of base64url
    expect(link.pollSecret).not.toContain(link.nonce);
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(LOGIN_LINK_TTL_SEC * 1000);
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(LOGIN_LINK_TTL_SEC * 1000 - 60_000);

    const ttl = await t.redis.redis.pttl(keyOf(link.nonce));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LOGIN_LINK_TTL_SEC * 1000);
    const stored = await t.redis.redis.hgetall(keyOf(link.nonce));
    expect(stored.status).toBe('pending');
    expect(JSON.stringify(stored)).not.toContain(link.pollSecret);
    expect(stored.secretHash).toBe(createHash('sha256').update(link.pollSecret).digest('base64url'));

    const other = await createLink();
    expect(other.nonce).not.toBe(link.nonce);
    expect(other.pollSecret).not.toBe(link.pollSecret);
  });

  it('describes the device from the body, or from the User-Agent, bounded to 200 characters', async () => {
    const named = await createLink({ body: { device: 'Firefox on my laptop' } });
    expect((await inspect(named.nonce)).body.device).toBe('Firefox on my laptop');

    const fromAgent = await createLink({ userAgent: 'Mozilla/5.0 TestAgent' });
    expect((await inspect(fromAgent.nonce)).body.device).toBe('Mozilla/5.0 TestAgent');

    const longAgent = await createLink({ userAgent: `Agent/${'x'.repeat(500)}` });
    const device = (await inspect(longAgent.nonce)).body.device as string;
    expect(device.length).toBe(200);
    expect(device.startsWith('Agent/xxx')).toBe(true);

    expectProblem(
      await t.call('POST', '/api/auth/login-link', { body: { device: 'y'.repeat(201) } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.call('POST', '/api/auth/login-link', { body: { device: 'ok', extra: 1 } }),
      400,
      'validation_failed',
    );
  });

  it('lets the app origin send X-Poll-Secret across origins', async () => {
    const res = await fetch(`${t.url}/api/auth/login-link/${'a'.repeat(32)}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-poll-secret',
      },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-poll-secret');
  });
});

describe('the login flow', () => {
  it('create, inspect, pending, confirm, one session, then no more', async () => {
    const before = Date.now();
    const link = await createLink({ body: { device: 'Chrome on Windows' } });

    const shown = await inspect(link.nonce);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      nonce: link.nonce,
      device: 'Chrome on Windows',
      // The address the API saw, which the requester cannot choose the way it chooses the device text.
      ip: '127.0.0.1',
      status: 'pending',
      expiresAt: link.expiresAt,
    });
    expect(Date.parse(shown.body.requestedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(shown.body.requestedAt)).toBeLessThanOrEqual(Date.now());

    const pending = await poll(link.nonce, link.pollSecret);
    expect(pending.status).toBe(202);
    expect(pending.body).toEqual({ status: 'pending', expiresAt: link.expiresAt });

    const confirmed = await confirm(link.nonce, 510_001);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ nonce: link.nonce, status: 'confirmed' });
    expect(await usersWithTelegramId(510_001)).toBe(1);
    // The bot may repeat a confirmation (a retried callback): harmless for the same user.
    expect((await confirm(link.nonce, 510_001)).status).toBe(200);

    const session = await poll(link.nonce, link.pollSecret);
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    expect(session.body.status).toBe('confirmed');
    expect(session.body.token).toMatch(/^ses_/);
    expect(session.body.user).toMatchObject({ telegramId: '510001', username: 'b510001' });
    const me = await t.call('GET', '/api/auth/me', { token: session.body.token });
    expect(me.status).toBe(200);
    expect(me.body.telegramId).toBe('510001');

    const again = await poll(link.nonce, link.pollSecret);
    expectProblem(again, 410, 'login_link_used');
    expectNoSession(again);
  });

  it('a confirmed link cannot be taken over by another user, nor declined', async () => {
    const link = await createLink();
    expect((await confirm(link.nonce, 510_002)).status).toBe(200);
    expectProblem(await confirm(link.nonce, 510_003), 409, 'login_link_already_used');
    expectProblem(await decline(link.nonce), 409, 'login_link_already_used');
    const session = await poll(link.nonce, link.pollSecret);
    expect(session.body.user.telegramId).toBe('510002');
  });

  it('a declined link never gives a session', async () => {
    const link = await createLink();
    const declined = await decline(link.nonce);
    expect(declined.status).toBe(200);
    expect(declined.body.status).toBe('declined');
    expect((await decline(link.nonce)).status).toBe(200);

    expectProblem(await poll(link.nonce, link.pollSecret), 403, 'login_link_declined');
    expectProblem(await confirm(link.nonce, 510_004), 409, 'login_link_declined');
    const refused = await poll(link.nonce, link.pollSecret);
    expectProblem(refused, 403, 'login_link_declined');
    expectNoSession(refused);
    expect((await inspect(link.nonce)).body.status).toBe('declined');
  });

  it('an expired link is gone for everyone', async () => {
    const link = await createLink();
    await expireNow(link.nonce);
    expectProblem(await poll(link.nonce, link.pollSecret), 404, 'login_link_not_found');
    expectProblem(await inspect(link.nonce), 404, 'login_link_not_found');
    expectProblem(await confirm(link.nonce, 510_005), 404, 'login_link_not_found');
    expectProblem(await decline(link.nonce), 404, 'login_link_not_found');
    expect(await usersWithTelegramId(510_005)).toBe(0);
    // Nothing recreated the key.
    expect(await t.redis.redis.exists(keyOf(link.nonce))).toBe(0);
  });

  it('a link confirmed but expired before the poll gives no session', async () => {
    const link = await createLink();
    expect((await confirm(link.nonce, 510_006)).status).toBe(200);
    await expireNow(link.nonce);
    const res = await poll(link.nonce, link.pollSecret);
    expectProblem(res, 404, 'login_link_not_found');
    expectNoSession(res);
  });

  it('answers unknown and malformed nonces without a 5xx', async () => {
    expectProblem(await poll('A'.repeat(32), 'lps_whatever'), 404, 'login_link_not_found');
    expectProblem(await inspect('A'.repeat(32)), 404, 'login_link_not_found');
    expectProblem(await poll('short', 'lps_whatever'), 400, 'validation_failed');
    expectProblem(await inspect(`${'A'.repeat(31)}*`), 400, 'validation_failed');
  });
});

describe('the internal endpoints', () => {
  it('refuse callers without the service secret and change nothing', async () => {
    const link = await createLink();
    const userToken = await t.signIn(520_001);
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-secret' },
      { authorization: `Bearer ${TEST_SERVICE_SECRET}x` },
      { authorization: `Bearer ${TEST_SERVICE_SECRET.slice(0, -1)}` },
      { authorization: TEST_SERVICE_SECRET },
      { authorization: `Basic ${TEST_SERVICE_SECRET}` },
      { authorization: `Bearer ${userToken}` },
      { authorization: `Bearer ${link.pollSecret}` },
    ];
    for (const headers of wrong) {
      expectProblem(await inspect(link.nonce, headers), 401, 'service_auth_required');
      expectProblem(await confirm(link.nonce, 520_002, headers), 401, 'service_auth_required');
      expectProblem(await decline(link.nonce, headers), 401, 'service_auth_required');
    }
    expect(await usersWithTelegramId(520_002)).toBe(0);
    expect((await t.redis.redis.hgetall(keyOf(link.nonce))).status).toBe('pending');
    expect((await poll(link.nonce, link.pollSecret)).status).toBe(202);
  });

  it('let exactly one of many racing confirmations by different users win', async () => {
    const link = await createLink();
    const ids = Array.from({ length: 10 }, (_, i) => 530_000 + i);
    const results = await Promise.all(ids.map((id) => confirm(link.nonce, id)));
    const winners = ids.filter((_, i) => results[i]?.status === 200);
    expect(winners).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 200)) {
      expectProblem(res, 409, 'login_link_already_used');
    }
    const session = await poll(link.nonce, link.pollSecret);
    expect(session.body.user.telegramId).toBe(String(winners[0]));
  });
});

describe('someone who knows only the nonce', () => {
  it('never obtains the session, before or after confirmation, and the rightful browser still does', async () => {
    const link = await createLink();
    const otherLink = await createLink();
    const attackerToken = await t.signIn(540_001);
    const storedHash = (await t.redis.redis.hgetall(keyOf(link.nonce))).secretHash ?? '';
    expect(storedHash).not.toBe('');

    const attempts = (): Array<() => ReturnType<typeof poll>> => [
      () => poll(link.nonce),
      () => poll(link.nonce, ''),
      () => poll(link.nonce, link.nonce),
      () => poll(link.nonce, `login_${link.nonce}`),
      () => poll(link.nonce, link.link),
      () => poll(link.nonce, `lps_${link.nonce}`),
      () => poll(link.nonce, `lps_${'A'.repeat(43)}`),
      () => poll(link.nonce, otherLink.pollSecret),
      () => poll(link.nonce, storedHash),
      () => poll(link.nonce, createHash('sha256').update(link.nonce).digest('base64url')),
      () => poll(link.nonce, link.pollSecret.slice(0, -1)),
      () => poll(link.nonce, `${link.pollSecret}x`),
      () => poll(link.nonce, link.pollSecret.toUpperCase()),
      () => poll(link.nonce, TEST_SERVICE_SECRET),
      () => poll(link.nonce, undefined, { authorization: `Bearer ${attackerToken}` }),
      () => poll(link.nonce, undefined, { authorization: `Bearer ${TEST_SERVICE_SECRET}` }),
      () => poll(link.nonce, link.nonce, { authorization: `Bearer ${TEST_SERVICE_SECRET}` }),
      () => poll(link.nonce, undefined, { cookie: `pollSecret=${link.nonce}` }),
      () => t.call('GET', `/api/auth/login-link/${link.nonce}?pollSecret=${encodeURIComponent(link.nonce)}`),
      // The nonce spelled differently must not reach another record, nor skip the secret.
      () => poll(link.nonce.toLowerCase(), link.nonce),
      () => t.call('GET', `/api/auth/login-link/${link.nonce}/`),
    ];

    async function attackEverything(stage: string) {
      for (const [i, attempt] of attempts().entries()) {
        const res = await attempt();
        expect([401, 404], `${stage} attempt ${i}: ${res.status} ${JSON.stringify(res.body)}`).toContain(
          res.status,
        );
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expectNoSession(res);
      }
      // Racing attempts all at once do no better.
      const burst = await Promise.all(attempts().map((attempt) => attempt()));
      for (const res of burst) {
        expect([401, 404]).toContain(res.status);
        expectNoSession(res);
      }
    }

    await attackEverything('before confirmation');
    expect((await poll(link.nonce, link.pollSecret)).status).toBe(202);

    expect((await confirm(link.nonce, 540_002)).status).toBe(200);
    await attackEverything('after confirmation');
    // Failed attempts neither consumed the link nor changed who it is for.
    expect(await t.redis.redis.hget(keyOf(link.nonce), 'consumedAt')).toBeNull();

    const session = await poll(link.nonce, link.pollSecret);
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    expect(session.body.user.telegramId).toBe('540002');
    expect((await t.call('GET', '/api/auth/me', { token: session.body.token })).body.telegramId).toBe(
      '540002',
    );

    await attackEverything('after the session was taken');
    // The other link's own browser is untouched by all of this.
    expect((await poll(otherLink.nonce, otherLink.pollSecret)).status).toBe(202);
  });

  it('gets nothing from the right secret of a different link', async () => {
    const a = await createLink();
    const b = await createLink();
    expect((await confirm(a.nonce, 540_003)).status).toBe(200);
    expect((await confirm(b.nonce, 540_004)).status).toBe(200);
    expectProblem(await poll(a.nonce, b.pollSecret), 401, 'poll_secret_invalid');
    expectProblem(await poll(b.nonce, a.pollSecret), 401, 'poll_secret_invalid');
    expect((await poll(a.nonce, a.pollSecret)).body.user.telegramId).toBe('540003');
    expect((await poll(b.nonce, b.pollSecret)).body.user.telegramId).toBe('540004');
  });
});

describe('concurrent polls', () => {
  it('twenty polls with the right secret after confirmation yield exactly one session', async () => {
    const link = await createLink();
    expect((await confirm(link.nonce, 550_001)).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 20 }, () => poll(link.nonce, link.pollSecret)));
    const sessions = results.filter((r) => r.status === 200);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.body.token).toMatch(/^ses_/);
    for (const res of results.filter((r) => r.status !== 200)) {
      expectProblem(res, 410, 'login_link_used');
      expectNoSession(res);
    }
    const sessionKeys = await t.redis.redis.keys(`${t.redis.prefix}:session:*`);
    const owners = await Promise.all(sessionKeys.map((k) => t.redis.redis.get(k)));
    const forThisUser = owners.filter((s) => s && JSON.parse(s).telegramId === '550001');
    expect(forThisUser).toHaveLength(1);
  });
});

describe('the reference', () => {
  it('documents the poll secret header and the pending answer', async () => {
    const doc = (await t.call('GET', '/api/openapi.json')).body;
    const pollOp = doc.paths['/api/auth/login-link/{nonce}'].get;
    expect(pollOp.description).toContain('X-Poll-Secret');
    expect(Object.keys(pollOp.responses)).toEqual(
      expect.arrayContaining(['200', '202', '401', '404', '410']),
    );
    expect(doc.paths['/api/internal/login-links/{nonce}/confirm'].post.security).toEqual([
      { serviceSecret: [] },
    ]);
  });
});
