// The Caddyfile in front of the real services, end to end. The api, workers, assist and the app (its
// production build) run as processes on loopback (e2e/harness.ts), and Debian's Caddy runs the repository's
// Caddyfile with test domains, Caddy's internal CA instead of Let's Encrypt, and high ports: the environment
// switches the file documents, nothing else. Each domain must reach its own service with the edge's
// headers, the WebSocket must upgrade through it, and what the edge refuses (/metrics, bull-board without
// credentials, oversized bodies) must be refused.
import { existsSync, readFileSync } from 'node:fs';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TEST_BOT_TOKEN } from '../api/src/testing.ts';
import { findFreePort } from '../devstack/ports.ts';
import { startTelegramDouble, type TelegramDouble } from '../devstack/telegram-double.ts';
import { until } from '../devstack/testing.ts';
import { type Pipeline, startPipeline } from '../e2e/harness.ts';
import { type CaddyHome, type CaddyProcess, createCaddyHome, startCaddy } from './caddy/caddy.ts';
import { type EdgeClient, edgeClient } from './caddy/edge-client.ts';

const DOMAIN = { app: 'app.amanat.test', api: 'api.amanat.test', assist: 'assist.amanat.test' } as const;
type Site = keyof typeof DOMAIN;
const SITES = Object.keys(DOMAIN) as Site[];

const WEBHOOK_PATH = 'caddy-route-test-path-0123456789';
const WEBHOOK_SECRET = 'caddy-route-test-secret-0123456789';
const OPERATOR_ID = 9_100_000_000 + Math.floor(Math.random() * 1_000_000);
const USER_ID = OPERATOR_ID + 1;

let home: CaddyHome | undefined;
let caddy: CaddyProcess | undefined;
let p: Pipeline | undefined;
let telegram: TelegramDouble | undefined;
let client: EdgeClient;
let httpPort = 0;
let httpsPort = 0;

/** A site's public origin as browsers see it. */
const origin = (site: Site) => `https://${DOMAIN[site]}:${httpsPort}`;
const hostPort = (url: string) => new URL(url).host;
const edge = (site: Site, path: string, init?: Parameters<EdgeClient['request']>[1]) =>
  client.request(`${origin(site)}${path}`, init);

beforeAll(async () => {
  home = createCaddyHome();
  [httpPort, httpsPort] = await Promise.all([findFreePort(), findFreePort()]);
  telegram = await startTelegramDouble({ token: TEST_BOT_TOKEN });
  p = await startPipeline({
    rpcUrls: {},
    env: {
      api: { APP_ORIGIN: origin('app'), DEV_SIGN_IN: 'true', OPERATOR_TELEGRAM_IDS: String(OPERATOR_ID) },
      assist: {
        APP_ORIGIN: origin('app'),
        TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        TELEGRAM_WEBHOOK_URL: origin('assist'),
        TELEGRAM_WEBHOOK_PATH: WEBHOOK_PATH,
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
      app: { PUBLIC_API_URL: origin('api'), PUBLIC_ASSIST_URL: origin('assist') },
    },
  });
  // Workers answer the assistant's questions (the llm queue); assist before the app, which then offers it.
  for (const name of ['api', 'workers', 'assist', 'app'] as const) await p.start(name);

  caddy = startCaddy({
    ...home.env,
    ACME_EMAIL: 'ops@amanat.test',
    APP_DOMAIN: DOMAIN.app,
    API_DOMAIN: DOMAIN.api,
    ASSIST_DOMAIN: DOMAIN.assist,
    APP_UPSTREAM: hostPort(p.appUrl),
    API_UPSTREAM: hostPort(p.apiUrl),
    ASSIST_UPSTREAM: hostPort(p.assistUrl),
    CADDY_TLS_ISSUER: 'internal',
    CADDY_HTTP_PORT: String(httpPort),
    CADDY_HTTPS_PORT: String(httpsPort),
    CADDY_ADMIN: 'off',
  });
  const { rootCertificate } = home;
  const exited = () => caddy?.child.exitCode !== null;
  await until('Caddy to create its local CA', () => existsSync(rootCertificate) || exited(), 30_000);
  if (exited()) throw new Error(`caddy exited at start:\n${caddy.output()}`);
  client = edgeClient(readFileSync(rootCertificate));
  // Certificates are issued in the background; every site must complete a handshake and reach its service.
  await until(
    'every site to answer through Caddy',
    async () => {
      const answers = await Promise.all(
        SITES.map((site) =>
          edge(site, '/healthz').then(
            (r) => r.status === 200,
            () => false,
          ),
        ),
      );
      return answers.every(Boolean);
    },
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${caddy?.output().slice(-6000)}`);
  });
}, 300_000);

afterAll(async () => {
  client?.close();
  await caddy?.stop();
  await p?.close();
  await telegram?.close();
  home?.remove();
}, 60_000);

/** Every session token handed out in this file: none may show up in Caddy's logs. */
const tokens: string[] = [];

const signIn = async (telegramId: number) => {
  const res = await edge('api', '/api/auth/dev', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ telegramId }),
  });
  expect(res.status, res.text()).toBe(200);
  const { token } = res.json() as { token: string };
  tokens.push(token);
  return token;
};

/** Opens /api/ws through Caddy; resolves with the socket once open, or with the refused status. */
function openLive(origin: string): Promise<{ socket: WebSocket } | { refused: number }> {
  const socket = new WebSocket(`wss://${DOMAIN.api}:${httpsPort}/api/ws`, { agent: client.agent, origin });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ refused: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

const nextMessage = (socket: WebSocket) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no WebSocket message within 10 s')), 10_000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)));
    });
  });

describe('routing by host', () => {
  it('sends the app domain to the app: its pages, with its own CSP that lets Telegram frame it', async () => {
    const res = await edge('app', '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text()).toContain('/_app/');
    // SvelteKit's policy with its script hashes, once, not replaced by the edge's default.
    const csp = res.all.get('content-security-policy') ?? [];
    expect(csp).toHaveLength(1);
    expect(csp[0]).toMatch(/script-src [^;]*'sha256-/);
    expect(csp[0]).toMatch(/frame-ancestors [^;]*https:\/\/web\.telegram\.org/);
    expect(csp[0]).toContain(origin('api'));
    expect(res.headers['x-frame-options']).toBeUndefined();
  });

  it('sends the API domain to the API', async () => {
    const res = await edge('api', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect((res.json() as { info: { title: string } }).info.title).toBe('Amanat API');
    expect(res.all.get('content-security-policy')).toEqual([
      expect.stringContaining("frame-ancestors 'none'"),
    ]);
  });

  it('sends the assist domain to the assistant', async () => {
    const res = await edge('assist', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ data: [{ id: 'amanat-assistant' }] });
    // The same path on the API domain is the API's 404: the hosts are not mixed up.
    expect((await edge('api', '/v1/models')).status).toBe(404);
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const res = await client.request(`http://${DOMAIN.app}:${httpPort}/deals`);
    expect(res.status).toBe(308);
    expect(res.headers.location).toMatch(
      new RegExp(`^https://${DOMAIN.app.replaceAll('.', '\\.')}(:\\d+)?/deals$`),
    );
  });
});

describe('edge headers', () => {
  it.each(SITES)('%s: HSTS, nosniff, a referrer policy, and no Server header', async (site) => {
    const res = await edge(site, '/healthz');
    expect(res.status).toBe(200);
    expect(res.all.get('strict-transport-security')).toEqual(['max-age=31536000; includeSubDomains']);
    expect(res.all.get('x-content-type-options')).toEqual(['nosniff']);
    expect(res.all.get('referrer-policy')).toHaveLength(1);
    expect(res.all.get('content-security-policy')).toHaveLength(1);
    expect(res.headers.server).toBeUndefined();
  });

  it('compresses with zstd or gzip as the client asks', async () => {
    const zstd = await edge('api', '/api/openapi.json', { headers: { 'accept-encoding': 'zstd' } });
    expect(zstd.headers['content-encoding']).toBe('zstd');
    expect(JSON.parse(zstdDecompressSync(zstd.body).toString('utf8')).info.title).toBe('Amanat API');
    const gzip = await edge('api', '/api/openapi.json', { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
  });
});

describe('the API behind the edge', () => {
  it('upgrades /api/ws to a WebSocket that signs in and answers', async () => {
    const token = await signIn(USER_ID);
    const live = await openLive(origin('app'));
    if (!('socket' in live)) throw new Error(`upgrade refused with ${live.refused}`);
    try {
      const ready = nextMessage(live.socket);
      live.socket.send(JSON.stringify({ type: 'auth', token }));
      expect(await ready).toMatchObject({ type: 'ready' });
      const pong = nextMessage(live.socket);
      live.socket.send(JSON.stringify({ type: 'ping' }));
      expect(await pong).toEqual({ type: 'pong' });
    } finally {
      live.socket.close();
    }
  });

  it("passes the browser's Origin on the upgrade, so the API still refuses other sites", async () => {
    expect(await openLive('https://evil.example')).toEqual({ refused: 403 });
  });

  it('leaves bull-board to its own auth: refused without credentials, open to an operator', async () => {
    const anonymous = await edge('api', '/admin/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /);
    const user = await edge('api', '/admin/queues', {
      headers: { authorization: `Bearer ${await signIn(USER_ID)}` },
    });
    expect(user.status).toBe(403);
    const operator = await edge('api', '/admin/queues', {
      headers: { authorization: `Bearer ${await signIn(OPERATOR_ID)}` },
    });
    expect(operator.status).toBe(200);
    expect(operator.headers['content-type']).toMatch(/^text\/html/);
  });

  it('answers /metrics with 404 at the edge, however the path is spelt, while the API serves it inside', async () => {
    const inside = await fetch(`${p?.apiUrl}/METRICS`);
    expect(inside.status).toBe(200);
    expect(await inside.text()).toContain('http_request_duration_seconds');
    for (const path of [
      '/metrics',
      '/METRICS',
      '/metrics/',
      '//metrics',
      '/%6detrics',
      '/metrics?format=text',
    ]) {
      const res = await edge('api', path);
      expect(res.status, path).toBe(404);
      expect(res.text(), path).not.toContain('http_request_duration_seconds');
    }
    for (const site of ['app', 'assist'] as const)
      expect((await edge(site, '/metrics')).status, site).toBe(404);
  });
});

describe('body limits', () => {
  const json = (size: number) => {
    const shell = JSON.stringify({ telegramId: USER_ID, firstName: '' });
    return shell.replace('""', `"${'x'.repeat(size - shell.length)}"`);
  };

  it('lets a body at the limit reach the API, which answers it itself', async () => {
    const res = await edge('api', '/api/auth/dev', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json(65_536),
    });
    // The API's own validation (the name is too long), not a refusal by the edge.
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses a declared body over the limit with 413 before it reaches the service', async () => {
    const api = await edge('api', '/api/auth/dev', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json(65_537),
    });
    expect(api.status).toBe(413);
    expect(api.headers['content-type']).toBeUndefined();
    const assist = await edge('assist', `/telegram/${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
      body: Buffer.alloc(1_048_577, 0x20),
    });
    expect(assist.status).toBe(413);
  });

  it('refuses chunked bodies once they pass the limit, and keeps serving', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await edge('api', '/api/auth/dev', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        chunks: Array.from({ length: 5 }, () => Buffer.alloc(16_384, 0x20)),
      });
      expect(res.status).toBe(413);
    }
    // Client mistakes never take the upstream out of rotation.
    expect((await edge('api', '/healthz')).status).toBe(200);
  });
});

describe('the assistant behind the edge', () => {
  it("delivers the bot's webhook with its secret token", async () => {
    const update = (updateId: number) =>
      JSON.stringify({
        update_id: updateId,
        message: {
          message_id: 1,
          date: Math.floor(Date.now() / 1000),
          chat: { id: USER_ID, type: 'private', first_name: 'Edge' },
          from: { id: USER_ID, is_bot: false, first_name: 'Edge' },
          text: '/start',
          entities: [{ type: 'bot_command', offset: 0, length: 6 }],
        },
      });
    const post = (secret: string, body: string) =>
      edge('assist', `/telegram/${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body,
      });
    expect((await post('not-the-secret-token', update(1))).status).toBe(401);
    const accepted = await post(WEBHOOK_SECRET, update(2));
    expect(accepted.status).toBe(200);
    expect(accepted.json()).toEqual({ ok: true });
    // The bot handled it: it answered the user through the Bot API.
    await telegram?.waitForCall('sendMessage', (c) => Number(c.params.chat_id) === USER_ID, 15_000);
  });

  it('streams an answer as server-sent events, uncompressed', async () => {
    const token = await signIn(USER_ID);
    const res = await edge('assist', '/v1/chat/completions', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'accept-encoding': 'zstd, gzip',
        origin: origin('app'),
      },
      body: JSON.stringify({
        model: 'amanat-assistant',
        stream: true,
        messages: [{ role: 'user', content: 'What are the fees?' }],
      }),
    });
    expect(res.status, res.text()).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['content-encoding']).toBeUndefined();
    const events = res
      .text()
      .split('\n\n')
      .filter((e) => e.startsWith('data: '));
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)).toBe('data: [DONE]');
  });
});

describe('access logs', () => {
  it('are JSON, one entry per request on each site, without session tokens or webhook secrets', () => {
    const log = caddy?.output() ?? '';
    const access = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { logger?: string; request?: { host?: string; uri?: string } })
      .filter((entry) => entry.logger?.startsWith('http.log.access'));
    for (const site of SITES) {
      expect(
        access.some((e) => e.request?.host === `${DOMAIN[site]}:${httpsPort}`),
        site,
      ).toBe(true);
    }
    expect(access.map((e) => e.request?.uri)).toContain('/telegram/REDACTED');
    expect(tokens.length).toBeGreaterThan(0);
    for (const secret of [WEBHOOK_SECRET, WEBHOOK_PATH, ...tokens]) expect(log).not.toContain(secret);
  });
});
