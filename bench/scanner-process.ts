// bench:scanner's child processes: the scanner runner (ticks over IPC) and the real api / workers /
// scanner entry points, each with its peak RSS read from /proc (VmHWM: the kernel's high-water mark).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_PROCESS } from '../api/src/process-settings.ts';
import { keepOutput } from '../devstack/child-output.ts';
import type { TickReport } from '../scanner/src/index.ts';
import { SCANNER_PROCESS } from '../scanner/src/process-settings.ts';

const root = join(import.meta.dirname, '..');

/** A memory figure of a live process from /proc, in MB (NaN once it has exited). */
function procStatusMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The process's peak resident memory so far (the kernel's high-water mark). */
export const peakRssMb = (pid: number | undefined) => procStatusMb(pid, 'VmHWM');

async function exitOf(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const late = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(late);
}

export interface ScannerRunner {
  pid: number;
  /** Every tick the scanner reported, in order. */
  readonly ticks: readonly TickReport[];
  /** The first tick, at index `from` or later, that passes `check`. */
  waitForTick(
    check: (r: TickReport) => boolean,
    what: string,
    opts?: { from?: number; ms?: number },
  ): Promise<TickReport>;
  peakRssMb(): number;
  /** Resident memory now. */
  rssMb(): number;
  output(): string;
  stop(): Promise<void>;
}

type RunnerMessage = { kind: 'ready' } | { kind: 'tick'; report: TickReport } | { kind: 'stopped' };

/** Starts bench/scanner-runner.ts with the scanner environment given; resolves once it is running. */
export async function startScannerRunner(env: Record<string, string>): Promise<ScannerRunner> {
  const child = spawn(
    process.execPath,
    [...SCANNER_PROCESS.nodeArgs, join(root, 'bench', 'scanner-runner.ts')],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env, ...SCANNER_PROCESS.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // TickReport carries bigints, which JSON cannot.
      serialization: 'advanced',
    },
  );
  const output = keepOutput(child);
  const ticks: TickReport[] = [];
  const listeners = new Set<() => void>();
  let ready: () => void = () => {};
  const readyNow = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.on('message', (raw) => {
    const msg = raw as RunnerMessage;
    if (msg.kind === 'ready') ready();
    else if (msg.kind === 'tick') {
      ticks.push(msg.report);
      for (const l of listeners) l();
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`the scanner runner exited (${signal ?? code}):\n${output().slice(-4000)}`)),
    ),
  );
  exited.catch(() => {});
  await Promise.race([readyNow, exited]);

  return {
    pid: child.pid as number,
    ticks,
    waitForTick(check, what, opts = {}) {
      const from = opts.from ?? 0;
      const ms = opts.ms ?? 120_000;
      return new Promise<TickReport>((resolve, reject) => {
        let seen = from;
        const look = () => {
          for (; seen < ticks.length; seen++) {
            const t = ticks[seen] as TickReport;
            if (check(t)) {
              done();
              resolve(t);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}; last tick: ${String(ticks.at(-1)?.cursor)}`));
        }, ms);
        const onExit = (err: Error) => {
          done();
          reject(err);
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(look);
        };
        listeners.add(look);
        exited.catch(onExit);
        look();
      });
    },
    peakRssMb: () => peakRssMb(child.pid),
    rssMb: () => procStatusMb(child.pid, 'VmRSS'),
    output,
    async stop() {
      if (child.connected) child.send({ kind: 'stop' });
      else child.kill('SIGTERM');
      await exitOf(child, 15_000);
    },
  };
}

export interface ServiceProcess {
  name: string;
  pid: number;
  output(): string;
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** Starts a service from its entry point and waits for its readiness URL to answer 200. */
export async function startService(opts: {
  name: string;
  entry: string;
  nodeArgs?: readonly string[];
  env: Record<string, string>;
  readyUrl: string;
}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(root, opts.entry)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = keepOutput(child);
  const service: ServiceProcess = {
    name: opts.name,
    pid: child.pid as number,
    output,
    peakRssMb: () => peakRssMb(child.pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exitOf(child, 15_000);
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${opts.name} exited at start:\n${output().slice(-4000)}`);
    const ok = await fetch(opts.readyUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return service;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`${opts.name} did not become ready:\n${output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The environment every service of a pipeline benchmark shares: production mode, its schema and prefix. */
export function benchServicesEnv(opts: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
  chainId: number;
  rpcUrl: string;
  confirmations: number;
}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: opts.databaseUrl,
    DATABASE_SCHEMA: opts.schema,
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: opts.prefix,
    RPC_URLS: JSON.stringify({ [opts.chainId]: [opts.rpcUrl] }),
    ASSET_REGISTRY: JSON.stringify({ chains: { [opts.chainId]: { confirmations: opts.confirmations } } }),
  };
}

/** A benchmark's API with its production settings and rate limits out of the way (every request counts). */
export function startBenchApi(opts: {
  common: Record<string, string>;
  port: number;
  botToken: string;
  depositXpub: string;
  webhookSecret: string;
}): Promise<ServiceProcess> {
  return startService({
    name: 'api',
    entry: 'api/src/main.ts',
    nodeArgs: API_PROCESS.nodeArgs,
    env: {
      ...opts.common,
      ...API_PROCESS.env,
      API_PORT: String(opts.port),
      APP_ORIGIN: 'http://localhost:3000',
      TELEGRAM_BOT_TOKEN: opts.botToken,
      TELEGRAM_BOT_USERNAME: 'amanat_bench_bot',
      DEPOSIT_XPUB: opts.depositXpub,
      ASSIST_SERVICE_SECRET: randomBytes(32).toString('hex'),
      PAYMENT_WEBHOOK_SECRET: opts.webhookSecret,
      RATE_LIMIT_IP_PER_MIN: '1000000',
      RATE_LIMIT_USER_PER_MIN: '1000000',
    },
    readyUrl: `http://127.0.0.1:${opts.port}/readyz`,
  });
}
