// The Caddyfile as Debian's Caddy 2.6.2 reads it: it validates with an operator's environment, and the
// JSON it adapts to sends each domain to its service with the headers, limits, compression, health checks
// and logs the deployment relies on. Broken copies and a missing setting fail validation.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adaptCaddyfile,
  CADDYFILE,
  type CaddyConfig,
  type CaddyHandler,
  createCaddyHome,
  OPERATOR_ENV,
  runCaddy,
  type SiteStep,
  siteSteps,
  validateCaddyfile,
} from './caddy/caddy.ts';

const home = createCaddyHome();
afterAll(() => home.remove());

const env = (over: Record<string, string> = {}) => ({ ...home.env, ...OPERATOR_ENV, ...over });

/** A copy of the Caddyfile with one edit, in the test's own directory. */
function editedCopy(name: string, edit: (text: string) => string): string {
  const original = readFileSync(CADDYFILE, 'utf8');
  const edited = edit(original);
  expect(edited, 'the edit must change the file').not.toBe(original);
  const file = join(home.dir, name);
  writeFileSync(file, edited);
  return file;
}

const SECOND = 1_000_000_000;

const SITES = [
  {
    host: 'app.example.com',
    upstream: 'app:3000',
    bodyLimit: 65_536,
    // The app sends its own CSP (with its script hashes); this one only fills in where it sends none.
    csp: "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self' https://web.telegram.org https://*.telegram.org",
  },
  {
    host: 'api.example.com',
    upstream: 'api:8080',
    bodyLimit: 65_536,
    csp: "default-src 'none'; frame-ancestors 'none'",
  },
  {
    host: 'assist.example.com',
    upstream: 'assist:8090',
    bodyLimit: 1_048_576,
    csp: "default-src 'none'; frame-ancestors 'none'",
  },
] as const;

type Response = { deferred?: boolean; set?: Record<string, string[]>; delete?: string[]; require?: unknown };

const headerSteps = (steps: SiteStep[]) =>
  steps.filter((s) => s.handler.handler === 'headers').map((s) => s.handler.response as Response);

const only = (steps: SiteStep[], handler: string): CaddyHandler => {
  const found = steps.filter((s) => s.handler.handler === handler);
  expect(found, `exactly one ${handler} handler`).toHaveLength(1);
  return (found[0] as SiteStep).handler;
};

const indexOf = (steps: SiteStep[], test: (s: SiteStep) => boolean) => {
  const i = steps.findIndex(test);
  expect(i, 'the step exists').toBeGreaterThanOrEqual(0);
  return i;
};

/** The response-header defaults (`?Field`): set only when the response does not carry the field. */
const defaultOf = (steps: SiteStep[], field: string) =>
  headerSteps(steps).find(
    (r) =>
      JSON.stringify(r.require) === JSON.stringify({ headers: { [field]: null } }) &&
      r.set?.[field] !== undefined,
  )?.set?.[field];

describe('caddy validate', () => {
  it('accepts the Caddyfile with an operator environment', () => {
    const result = validateCaddyfile(env());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Valid configuration');
  });

  it('is laid out as `caddy fmt` writes it, so adapting it prints no warning', () => {
    const result = runCaddy(['fmt', CADDYFILE], env());
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(readFileSync(CADDYFILE, 'utf8'));
  });

  it('refuses a copy with an unbalanced brace', () => {
    const file = editedCopy('unbalanced.caddyfile', (text) =>
      text.replace('(upstream) {', '(upstream) {\n\t{'),
    );
    const result = validateCaddyfile(env(), file);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Syntax error');
  });

  it('refuses a copy with a misspelt directive or subdirective', () => {
    for (const [from, to, message] of [
      [
        'reverse_proxy {$API_UPSTREAM',
        'reverse_proxi {$API_UPSTREAM',
        'unrecognized directive: reverse_proxi',
      ],
      ['health_uri /healthz', 'health_url /healthz', 'unrecognized subdirective health_url'],
    ] as const) {
      const file = editedCopy('misspelt.caddyfile', (text) => text.replace(from, to));
      const result = validateCaddyfile(env(), file);
      expect(result.status, to).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  });

  it('refuses to start without a domain or without the ACME e-mail', () => {
    for (const missing of ['APP_DOMAIN', 'ACME_EMAIL']) {
      const { [missing]: _, ...rest } = env();
      const result = validateCaddyfile(rest);
      expect(result.status, `without ${missing}`).not.toBe(0);
    }
  });
});

describe('the adapted config with the defaults', () => {
  const config: CaddyConfig = adaptCaddyfile(env());

  it('serves HTTPS on 443 and HTTP on 80, with the admin endpoint on localhost only', () => {
    expect(config.apps.http.https_port).toBe(443);
    expect(config.apps.http.http_port).toBe(80);
    expect(Object.values(config.apps.http.servers).map((s) => s.listen)).toEqual([[':443']]);
    expect(config.admin).toEqual({ listen: 'localhost:2019' });
    // The local CA is never installed into a trust store.
    expect(config.apps.pki?.certificate_authorities?.local?.install_trust).toBe(false);
  });

  it("gets each domain's certificate from the ACME CA with the operator's e-mail", () => {
    const policies = config.apps.tls?.automation?.policies ?? [];
    for (const { host } of SITES) {
      const policy = policies.find((p) => p.subjects?.includes(host));
      expect(policy?.issuers, host).toEqual([{ module: 'acme', email: OPERATOR_ENV.ACME_EMAIL }]);
    }
  });

  describe.each(SITES)('$host', (site) => {
    const steps = siteSteps(config, site.host);
    const proxyAt = () => indexOf(steps, (s) => s.handler.handler === 'reverse_proxy');

    it('is proxied to its compose service, health-checked on /healthz, without passive checks', () => {
      const proxy = only(steps, 'reverse_proxy');
      expect(proxy.upstreams).toEqual([{ dial: site.upstream }]);
      const checks = proxy.health_checks as { active?: Record<string, unknown>; passive?: unknown };
      expect(checks.active).toMatchObject({ uri: '/healthz', interval: 10 * SECOND, timeout: 5 * SECOND });
      expect(checks.passive).toBeUndefined();
      expect(proxy.load_balancing).toMatchObject({
        selection_policy: { policy: 'least_conn' },
        try_duration: 10 * SECOND,
      });
    });

    it('sets HSTS and nosniff over the service, drops Server, and defaults the CSP and referrer policy', () => {
      const forced = headerSteps(steps).find((r) => r.deferred === true);
      expect(forced?.set).toMatchObject({
        'Strict-Transport-Security': ['max-age=31536000; includeSubDomains'],
        'X-Content-Type-Options': ['nosniff'],
      });
      expect(forced?.delete).toContain('Server');
      expect(defaultOf(steps, 'Content-Security-Policy')).toEqual([site.csp]);
      expect(defaultOf(steps, 'Referrer-Policy')).toEqual(['strict-origin-when-cross-origin']);
      // Telegram frames the Mini App: no X-Frame-Options from the edge, anywhere.
      expect(JSON.stringify(steps)).not.toContain('X-Frame-Options');
    });

    it('answers /metrics with 404 itself, before the proxy', () => {
      const metricsAt = indexOf(steps, (s) =>
        s.match.some((m) => JSON.stringify(m.path) === JSON.stringify(['/metrics', '/metrics/*'])),
      );
      expect(steps[metricsAt]?.handler).toMatchObject({ handler: 'static_response', status_code: 404 });
      expect(metricsAt).toBeLessThan(proxyAt());
    });

    it(`limits request bodies to ${site.bodyLimit} bytes, refusing a larger declared length up front`, () => {
      expect(only(steps, 'request_body').max_size).toBe(site.bodyLimit);
      const oversizedAt = indexOf(steps, (s) => s.handler.status_code === 413);
      const expression = String(steps[oversizedAt]?.match[0]?.expression);
      expect(expression).toContain('{http.request.header.Content-Length}');
      expect(expression).toContain(`> ${site.bodyLimit}`);
      expect(oversizedAt).toBeLessThan(proxyAt());
    });

    it('compresses with zstd and gzip, but never an event stream', () => {
      const encode = only(steps, 'encode');
      expect(Object.keys(encode.encodings as object).sort()).toEqual(['gzip', 'zstd']);
      const types = (encode.match as { headers: Record<string, string[]> }).headers['Content-Type'] ?? [];
      expect(types).toEqual(expect.arrayContaining(['text/html*', 'application/json*', 'text/javascript*']));
      expect(types.some((t) => 'text/event-stream'.startsWith(t.replace(/\*$/, '')))).toBe(false);
    });

    it("answers its own errors with the site's headers and the error's status", () => {
      const errors = siteSteps(config, site.host, 'errors');
      expect(headerSteps(errors).find((r) => r.deferred)?.delete).toContain('Server');
      expect(defaultOf(errors, 'Content-Security-Policy')).toEqual([site.csp]);
      expect(errors.at(-1)?.handler).toMatchObject({
        handler: 'static_response',
        status_code: '{http.error.status_code}',
      });
    });

    it('writes JSON access logs without the secret headers and the webhook path', () => {
      const server = Object.values(config.apps.http.servers)[0];
      const name = server?.logs?.logger_names?.[site.host] ?? '';
      const log = config.logging?.logs?.[name];
      expect(log?.include).toEqual([`http.log.access.${name}`]);
      expect(log?.encoder).toMatchObject({
        format: 'filter',
        wrap: { format: 'json' },
        fields: {
          'request>headers>X-Telegram-Bot-Api-Secret-Token': { filter: 'delete' },
          'request>headers>X-Poll-Secret': { filter: 'delete' },
          'resp_headers>Set-Cookie': { filter: 'delete' },
          'request>uri': { filter: 'regexp', regexp: '^/telegram/[^/?]+', value: '/telegram/REDACTED' },
        },
      });
    });
  });

  it('streams the assistant: its responses are flushed as they arrive', () => {
    expect(only(siteSteps(config, 'assist.example.com'), 'reverse_proxy').flush_interval).toBe(-1);
    expect(only(siteSteps(config, 'api.example.com'), 'reverse_proxy').flush_interval).toBeUndefined();
  });
});

describe('the adapted config with the test switches', () => {
  const config = adaptCaddyfile(
    env({
      APP_DOMAIN: 'app.amanat.test',
      API_DOMAIN: 'api.amanat.test',
      ASSIST_DOMAIN: 'assist.amanat.test',
      APP_UPSTREAM: '127.0.0.1:4001',
      API_UPSTREAM: '127.0.0.1:4002',
      ASSIST_UPSTREAM: '127.0.0.1:4003',
      CADDY_TLS_ISSUER: 'internal',
      CADDY_HTTP_PORT: '18080',
      CADDY_HTTPS_PORT: '18443',
      CADDY_ADMIN: 'off',
    }),
  );

  it('takes the ports, the admin switch, the upstreams and the internal CA from the environment', () => {
    expect(config.apps.http).toMatchObject({ http_port: 18080, https_port: 18443 });
    expect(Object.values(config.apps.http.servers).map((s) => s.listen)).toEqual([[':18443']]);
    expect(config.admin).toEqual({ disabled: true });
    const dials = ['app', 'api', 'assist'].map(
      (name) => only(siteSteps(config, `${name}.amanat.test`), 'reverse_proxy').upstreams,
    );
    expect(dials).toEqual([
      [{ dial: '127.0.0.1:4001' }],
      [{ dial: '127.0.0.1:4002' }],
      [{ dial: '127.0.0.1:4003' }],
    ]);
    for (const policy of config.apps.tls?.automation?.policies ?? []) {
      expect(policy.issuers).toEqual([{ module: 'internal' }]);
    }
  });
});
