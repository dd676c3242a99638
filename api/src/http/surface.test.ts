import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../testing.ts';

/** What every client sees before any route logic: CORS, security headers, readiness, the reference. */

const APP_ORIGIN = 'http://app.test';

let t: TestApi;
let token: string;

beforeAll(async () => {
  t = await startTestApi();
  token = await t.signIn(600_001);
});
afterAll(async () => {
  await t?.close();
});

describe('CORS', () => {
  it('allows a preflight from APP_ORIGIN with the headers the app sends', async () => {
    const res = await t.call('OPTIONS', '/api/deals', {
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'idempotency-key']) expect(allowed).toContain(h);
  });

  it('gives any other origin no Access-Control-Allow-Origin, on a preflight or a request', async () => {
    for (const origin of ['http://evil.test', 'http://app.test.evil.test', 'https://app.test', 'null']) {
      const preflight = await t.call('OPTIONS', '/api/deals', {
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
      const get = await t.call('GET', '/api/deals', { token, headers: { origin } });
      expect(get.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('lets the app read the headers it needs on an actual request', async () => {
    const res = await t.call('GET', '/api/deals', { token, headers: { origin: APP_ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const h of ['retry-after', 'idempotent-replayed']) expect(exposed).toContain(h);
  });
});

describe('security headers', () => {
  it('are on answers, errors and the docs alike', async () => {
    for (const [path, status] of [
      ['/api/deals', 200],
      ['/api/nothing', 404],
      ['/api/docs', 200],
      ['/healthz', 200],
    ] as const) {
      const res = await t.call('GET', path, { token });
      expect(res.status, path).toBe(status);
      const h = res.headers;
      expect(h.get('x-content-type-options'), path).toBe('nosniff');
      expect(h.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(h.get('content-security-policy'), path).toMatch(/default-src 'none'/);
      expect(h.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
      expect(h.get('x-frame-options'), path).toBeTruthy();
      expect(h.get('referrer-policy'), path).toBe('no-referrer');
      expect(h.get('cross-origin-resource-policy'), path).toBe('same-site');
      expect(h.get('x-powered-by'), path).toBeNull();
      expect(h.get('x-request-id'), path).toBeTruthy();
    }
  });
});

describe('health', () => {
  it('/healthz is alive and /readyz reports PostgreSQL and Redis reachable', async () => {
    const alive = await t.call('GET', '/healthz');
    expect(alive.status).toBe(200);
    const ready = await t.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });
});

describe('the API reference', () => {
  it('is OpenAPI 3.1.0 with every registered route, as declared', async () => {
    const res = await t.call('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(t.api.routes.length).toBeGreaterThan(10);
    const operationIds = new Set<string>();
    for (const route of t.api.routes) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = doc.paths[path]?.[route.method];
      expect(op, `${route.method} ${path}`).toBeDefined();
      expect(op.operationId).toBe(route.operationId);
      expect(operationIds.has(route.operationId)).toBe(false);
      operationIds.add(route.operationId);
      expect(op.responses[String(route.status ?? 200)]).toBeDefined();
      if (route.auth === 'user') {
        expect(op.responses['401'].content['application/problem+json']).toBeDefined();
        expect(op.security.length).toBeGreaterThan(0);
      }
      if (route.body) expect(op.requestBody.content['application/json'].schema).toBeDefined();
      for (const name of route.path.match(/:([A-Za-z0-9_]+)/g) ?? []) {
        expect(
          op.parameters.some((p: { name: string; in: string }) => p.in === 'path' && `:${p.name}` === name),
        ).toBe(true);
      }
    }

    // The request schema is the one the server validates with: strict, with the required fields.
    const create = doc.paths['/api/deals'].post.requestBody.content['application/json'].schema;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(expect.arrayContaining(['title', 'amount', 'asset', 'role', 'address']));
    expect(doc.paths['/api/deals'].post.parameters.map((p: { name: string }) => p.name)).toContain(
      'Idempotency-Key',
    );
  });

  it('has a docs page in HTML listing the operations', async () => {
    const res = await fetch(`${t.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    for (const route of t.api.routes) expect(html).toContain(`id="${route.operationId}"`);
  });
});
