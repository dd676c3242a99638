// Runs Debian's Caddy (the version the Caddyfile must accept) on the repository's Caddyfile for the
// deployment tests. Every use gets data and config directories of its own (XDG_DATA_HOME,
// XDG_CONFIG_HOME), so the machine's Caddy state is never read or written, and the environment holds only
// what is passed: the Caddyfile reads nothing the test did not choose.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepOutput } from '../../devstack/child-output.ts';

export const CADDYFILE = join(import.meta.dirname, '..', '..', 'Caddyfile');

/** What an operator's .env gives the Caddyfile: every variable it reads that has no default. */
export const OPERATOR_ENV: Readonly<Record<string, string>> = {
  ACME_EMAIL: 'ops@example.com',
  APP_DOMAIN: 'app.example.com',
  API_DOMAIN: 'api.example.com',
  ASSIST_DOMAIN: 'assist.example.com',
};

export interface CaddyHome {
  dir: string;
  /** PATH, HOME and the XDG directories, all under `dir`. */
  env: Record<string, string>;
  /** Where Caddy's local CA keeps its root certificate (CADDY_TLS_ISSUER=internal). */
  rootCertificate: string;
  remove(): void;
}

export function createCaddyHome(): CaddyHome {
  const dir = mkdtempSync(join(tmpdir(), 'amanat-caddy-'));
  return {
    dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'config'),
    },
    rootCertificate: join(dir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface CaddyResult {
  status: number | null;
  /** What the command prints (adapt's JSON, validate's verdict); Caddy's logs and errors go to stderr. */
  stdout: string;
  stderr: string;
}

/** Runs one caddy command to its end. */
export function runCaddy(args: readonly string[], env: Record<string, string>): CaddyResult {
  const result = spawnSync('caddy', args, { env, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function validateCaddyfile(env: Record<string, string>, file = CADDYFILE): CaddyResult {
  return runCaddy(['validate', '--adapter', 'caddyfile', '--config', file], env);
}

/** The JSON config the Caddyfile becomes with this environment; throws with Caddy's message if it fails. */
export function adaptCaddyfile(env: Record<string, string>, file = CADDYFILE): CaddyConfig {
  const result = runCaddy(['adapt', '--adapter', 'caddyfile', '--config', file], env);
  if (result.status !== 0) throw new Error(`caddy adapt failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as CaddyConfig;
}

export interface CaddyProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, and SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

/** `caddy run` on the Caddyfile in the background; stopped by the caller (and on this process's exit). */
export function startCaddy(env: Record<string, string>, file = CADDYFILE): CaddyProcess {
  const child = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = keepOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test runner that dies without its hooks must not leave Caddy holding the ports.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    child,
    output,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// The parts of Caddy's JSON config the tests read.

export interface CaddyHandler {
  handler: string;
  [field: string]: unknown;
}

export interface CaddyRoute {
  match?: Array<Record<string, unknown>>;
  handle: CaddyHandler[];
  terminal?: boolean;
}

export interface CaddyServer {
  listen: string[];
  routes: CaddyRoute[];
  errors?: { routes: CaddyRoute[] };
  logs?: { logger_names?: Record<string, string> };
}

export interface CaddyConfig {
  admin?: { disabled?: boolean; listen?: string };
  logging?: { logs?: Record<string, { encoder?: Record<string, unknown>; include?: string[] }> };
  apps: {
    http: { http_port?: number; https_port?: number; servers: Record<string, CaddyServer> };
    tls?: {
      automation?: { policies?: Array<{ subjects?: string[]; issuers?: Array<Record<string, unknown>> }> };
    };
    pki?: { certificate_authorities?: Record<string, { install_trust?: boolean }> };
  };
}

/** A handler of a site together with the matchers of the route it sits in, in the order Caddy runs them. */
export interface SiteStep {
  match: Array<Record<string, unknown>>;
  handler: CaddyHandler;
}

const servesHost = (route: CaddyRoute, host: string) =>
  route.match?.some((m) => Array.isArray(m.host) && (m.host as string[]).includes(host)) ?? false;

function flatten(routes: CaddyRoute[], inherited: Array<Record<string, unknown>>): SiteStep[] {
  return routes.flatMap((route) =>
    route.handle.flatMap((handler) => {
      const match = [...inherited, ...(route.match ?? [])];
      return handler.handler === 'subroute'
        ? flatten((handler.routes as CaddyRoute[] | undefined) ?? [], match)
        : [{ match, handler }];
    }),
  );
}

/** Every handler the site for `host` runs (its error routes with `errors`), outermost first. */
export function siteSteps(
  config: CaddyConfig,
  host: string,
  which: 'routes' | 'errors' = 'routes',
): SiteStep[] {
  const steps: SiteStep[] = [];
  for (const server of Object.values(config.apps.http.servers)) {
    const routes = which === 'routes' ? server.routes : (server.errors?.routes ?? []);
    for (const route of routes.filter((r) => servesHost(r, host))) {
      steps.push(...flatten([{ handle: route.handle }], []));
    }
  }
  return steps;
}
