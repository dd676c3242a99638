import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TG, startTestApi, type TestApi } from '../testing.ts';
import { hashAdminPassword } from './basic-auth.ts';
import { BASIC_FAILURES_ALLOWED } from './board-access.ts';

const ADMIN_USER = 'breakglass';
const ADMIN_PASSWORD = 'correct horse battery staple';
const EVERY_QUEUE = [
  'payments',
  'notifications',
  'llm',
  'deadlines',
  'payouts',
  'mirror',
  'callbacks',
  'maintenance',
  'scan-31337',
];

// A real asset of the installed board, found on disk so the test does not depend on its build hash.
const uiJsDir = join(
  dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json')),
  'dist/static/js',
);
const mainJsName = readdirSync(uiJsDir).find((f) => /^main\..*\.js$/.test(f)) as string;
const mainJsHead = readFileSync(join(uiJsDir, mainJsName), 'utf8').slice(0, 200);

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let t: TestApi;
let operatorToken: string;
let userToken: string;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(t.url + path, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  t = await startTestApi({ ADMIN_USER, ADMIN_PASSWORD_HASH: await hashAdminPassword(ADMIN_PASSWORD) });
  operatorToken = await t.signIn(OPERATOR_TG);
  userToken = await t.signIn(424_242);
});
afterAll(async () => {
  await t?.close();
});

describe('bull-board lockout', () => {
  it('answers anonymous requests with 401, a Basic challenge and nothing of the board', async () => {
    const paths = [
      '/admin/queues',
      '/admin/queues/',
      '/admin/queues/queue/payments',
      '/admin/queues/api/queues',
      `/admin/queues/static/js/${mainJsName}`,
      '/ADMIN/QUEUES/api/queues',
    ];
    for (const path of paths) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate'), path).toMatch(/^Basic realm="amanat-admin"/);
      expect(JSON.parse(res.text).code, path).toBe('auth_required');
      expect(res.text, path).not.toMatch(/<html|__UI_CONFIG__|"queues"|payments/i);
      expect(res.text, path).not.toContain(mainJsHead);
    }
  });

  it('refuses an unknown bearer token with 401 and still offers Basic', async () => {
    const res = await get('/admin/queues/api/queues', { authorization: `Bearer ses_${'x'.repeat(43)}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(JSON.parse(res.text).code).toBe('session_invalid');
  });

  it('answers a signed-in user who is not an operator with 403 operator_only', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await get(path, { authorization: `Bearer ${userToken}` });
      expect(res.status, path).toBe(403);
      expect(JSON.parse(res.text).code, path).toBe('operator_only');
      expect(res.text, path).not.toContain('__UI_CONFIG__');
    }
    const session = await t.call('POST', '/admin/queues/session', { token: userToken });
    expect(session.status).toBe(403);
    expect(session.body.code).toBe('operator_only');
    expect(session.headers.get('set-cookie')).toBeNull();
  });
});

describe('bull-board for operators', () => {
  it('serves the page with a CSP that lets it run, and its scripts and styles', async () => {
    const auth = { authorization: `Bearer ${operatorToken}` };
    const page = await get('/admin/queues', auth);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('__UI_CONFIG__');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(page.headers.get('cache-control')).toBe('no-store');

    // Every script and stylesheet the page links loads, from where the page's <base> says.
    expect(page.text).toContain('<base href="/admin/queues/"');
    const assets = [...page.text.matchAll(/(?:src|href)="(static\/(?:js|css)\/[^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    expect(assets).toContain(`static/js/${mainJsName}`);
    for (const asset of assets) {
      const res = await get(`/admin/queues/${asset}`, auth);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.js') ? /javascript/ : /text\/css/,
      );
      expect(res.headers.get('cache-control'), asset).toBe('private, no-cache');
    }
    const main = await get(`/admin/queues/static/js/${mainJsName}`, auth);
    expect(main.text.startsWith(mainJsHead)).toBe(true);
  });

  it('lists every queue of the system in the board API', async () => {
    const res = await t.call('GET', '/admin/queues/api/queues', { token: operatorToken });
    expect(res.status).toBe(200);
    const names = (res.body.queues as Array<{ name: string }>).map((q) => q.name);
    expect(names.sort()).toEqual([...EVERY_QUEUE].sort());
  });

  it('trades a Bearer session for an HttpOnly board cookie that stops working after sign-out', async () => {
    const token = await t.signIn(OPERATOR_TG);
    const started = await t.call('POST', '/admin/queues/session', { token });
    expect(started.status).toBe(200);
    expect(started.body.board).toBe('/admin/queues/');
    const setCookie = started.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^amanat_board=${token};`));
    expect(setCookie).toMatch(/; Path=\/admin\/queues(;|$)/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    // Plain http in the test: Secure would make the browser drop it.
    expect(setCookie).not.toMatch(/; Secure/);

    const cookie = { cookie: `theme=dark; amanat_board=${token}` };
    const page = await get('/admin/queues', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('__UI_CONFIG__');
    expect((await get('/admin/queues/api/queues', cookie)).status).toBe(200);

    expect((await t.call('POST', '/api/auth/logout', { token })).status).toBe(204);
    const after = await get('/admin/queues/api/queues', cookie);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.text).code).toBe('session_invalid');
    expect(after.text).not.toContain('"queues"');
    expect(after.headers.get('set-cookie')).toMatch(/^amanat_board=;.*Expires=Thu, 01 Jan 1970/);
  });

  it("refuses a non-operator's session in the cookie", async () => {
    const res = await get('/admin/queues/api/queues', { cookie: `amanat_board=${userToken}` });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).code).toBe('operator_only');
  });

  it('clears the cookie on DELETE /admin/queues/session', async () => {
    const res = await fetch(`${t.url}/admin/queues/session`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^amanat_board=;.*Path=\/admin\/queues/);
  });

  it('refuses a cross-site board action and leaves the queue untouched', async () => {
    const auth = { authorization: `Bearer ${operatorToken}` };
    const cross = await fetch(`${t.url}/admin/queues/api/queues/payments/pause`, {
      method: 'PUT',
      headers: { ...auth, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { code: string }).code).toBe('cross_site_request');
    const isPaused = async () => {
      const res = await t.call('GET', '/admin/queues/api/queues', { token: operatorToken });
      return (res.body.queues as Array<{ name: string; isPaused: boolean }>).find(
        (q) => q.name === 'payments',
      )?.isPaused;
    };
    expect(await isPaused()).toBe(false);

    // The same action from the board itself goes through (and is undone).
    const same = await fetch(`${t.url}/admin/queues/api/queues/payments/pause`, {
      method: 'PUT',
      headers: { ...auth, 'sec-fetch-site': 'same-origin' },
    });
    expect(same.status).toBe(200);
    expect(await isPaused()).toBe(true);
    const resumed = await fetch(`${t.url}/admin/queues/api/queues/payments/resume`, {
      method: 'PUT',
      headers: { ...auth, 'sec-fetch-site': 'same-origin' },
    });
    expect(resumed.status).toBe(200);
    expect(await isPaused()).toBe(false);
  });
});

describe('disabled board actions', () => {
  it('refuses to add, edit, empty or obliterate jobs, even for an operator, and nothing changes', async () => {
    const headers = {
      authorization: `Bearer ${operatorToken}`,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/json',
    };
    const attempts: Array<[string, string, string?]> = [
      ['POST', '/admin/queues/api/queues/payouts/add', '{"name":"execute-payout","data":{"dealId":"x"}}'],
      ['POST', '/admin/queues/API/Queues/payouts/add/', '{"name":"execute-payout","data":{}}'],
      ['PATCH', '/admin/queues/api/queues/payouts/1/update-data', '{"jobData":{}}'],
      ['PUT', '/admin/queues/api/queues/payouts/empty'],
      ['PUT', '/admin/queues/api/queues/payouts/obliterate'],
    ];
    for (const [method, path, body] of attempts) {
      const res = await fetch(t.url + path, { method, headers, ...(body ? { body } : {}) });
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { code: string }).code, path).toBe('board_action_disabled');
    }
    const list = await t.call('GET', '/admin/queues/api/queues', { token: operatorToken });
    const payouts = (list.body.queues as Array<{ name: string; counts: Record<string, number> }>).find(
      (q) => q.name === 'payouts',
    );
    expect(Object.values(payouts?.counts ?? { missing: 1 }).every((n) => n === 0)).toBe(true);
  });

  it('refuses to drop, promote or delay waiting payouts and deadlines, while cleaning finished jobs works', async () => {
    const { Queue } = await import('bullmq');
    const connection = t.apiRedis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    const prefix = `${t.config.REDIS_PREFIX}:bull`;
    const deadlines = new Queue('deadlines', { connection, prefix });
    await deadlines.add('inspection-end', { probe: true }, { jobId: 'probe-deadline', delay: 60_000 });
    const headers = { authorization: `Bearer ${operatorToken}`, 'sec-fetch-site': 'same-origin' };
    for (const path of [
      '/admin/queues/api/queues/deadlines/clean/delayed',
      '/admin/queues/api/queues/deadlines/clean/wait',
      '/admin/queues/api/queues/deadlines/promote',
      '/admin/queues/api/queues/deadlines/probe-deadline/clean',
      '/admin/queues/api/queues/deadlines/probe-deadline/promote',
      '/admin/queues/api/queues/deadlines/job-schedulers/any/remove',
    ]) {
      const res = await fetch(t.url + path, { method: 'PUT', headers });
      expect(res.status, path).toBe(403);
    }
    expect(await deadlines.getJobState('probe-deadline')).toBe('delayed');
    const clean = await fetch(`${t.url}/admin/queues/api/queues/deadlines/clean/completed`, {
      method: 'PUT',
      headers,
    });
    expect(clean.status).toBe(200);
    await deadlines.remove('probe-deadline');
    await deadlines.close();
    connection.disconnect();
  });
});

describe('break-glass basic auth', () => {
  it('lets the admin user in with the right password', async () => {
    const auth = { authorization: basic(ADMIN_USER, ADMIN_PASSWORD) };
    const page = await get('/admin/queues', auth);
    expect(page.status).toBe(200);
    expect(page.text).toContain('__UI_CONFIG__');
    const list = await get('/admin/queues/api/queues', auth);
    expect(list.status).toBe(200);
    expect(JSON.parse(list.text).queues).toHaveLength(EVERY_QUEUE.length);
  });

  it('refuses a wrong password and a wrong user name with 401 and nothing of the board', async () => {
    for (const auth of [basic(ADMIN_USER, `${ADMIN_PASSWORD}!`), basic('operator', ADMIN_PASSWORD)]) {
      const res = await get('/admin/queues/api/queues', { authorization: auth });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="amanat-admin"/);
      expect(JSON.parse(res.text).code).toBe('admin_credentials_invalid');
      expect(res.text).not.toContain('"queues"');
    }
  });

  it('stops taking passwords from an IP after too many failures, even the right one', async () => {
    // Start from a clean count whatever the earlier tests spent.
    const keys = await t.apiRedis.keys(`${t.config.REDIS_PREFIX}:rl:admin-basic-fail*`);
    if (keys.length > 0) await t.apiRedis.del(...keys);

    for (let i = 0; i < BASIC_FAILURES_ALLOWED; i++) {
      const res = await get('/admin/queues', { authorization: basic(ADMIN_USER, `wrong password ${i}`) });
      expect(res.status).toBe(401);
    }
    const blocked = await get('/admin/queues', { authorization: basic(ADMIN_USER, ADMIN_PASSWORD) });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.parse(blocked.text).code).toBe('rate_limited');
    expect(blocked.text).not.toContain('__UI_CONFIG__');

    // Operators signing in with their session are not held up by someone guessing the password.
    expect((await get('/admin/queues', { authorization: `Bearer ${operatorToken}` })).status).toBe(200);
  });

  it('counts guesses sent all at once before checking them, so at most the allowed number is tried', async () => {
    const keys = await t.apiRedis.keys(`${t.config.REDIS_PREFIX}:rl:admin-basic-fail*`);
    if (keys.length > 0) await t.apiRedis.del(...keys);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        get('/admin/queues/api/queues', { authorization: basic(ADMIN_USER, `parallel guess ${i}`) }),
      ),
    );
    const checked = answers.filter((a) => a.status === 401).length;
    expect(checked).toBeLessThanOrEqual(BASIC_FAILURES_ALLOWED);
    expect(answers.filter((a) => a.status === 429).length).toBe(40 - checked);
  });
});
