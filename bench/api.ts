// bench:api — the API under load with autocannon, in one run: a bare Express 5 handler (the baseline),
// GET /api/deals/:id signed in, and POST /api/deals signed in. Rounds alternate so machine noise hits
// all three alike; the figures are medians of the rounds, and the ratio is taken per round.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '@amanat/platform';
import autocannon from 'autocannon';
import pg from 'pg';
import { secretKeyFor, signInitData } from '../api/src/auth/telegram-init-data.ts';
import { API_PROCESS } from '../api/src/process-settings.ts';
import { findFreePort } from '../devstack/ports.ts';
import { accountXpub } from '../devstack/secrets.ts';
import { median } from './stats.ts';

const root = join(import.meta.dirname, '..');
const nodeBin = join(root, 'node_modules', '.bin', 'node');
const CONNECTIONS = 16;
const ROUND_SEC = 5;
const ROUNDS = 3;
const BOT_TOKEN = '7000002:AAH-bench-token-for-amanat-api-bench_0123456789';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function waitFor(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(opts: autocannon.Options): Promise<Round> {
  const r = await autocannon({ connections: CONNECTIONS, duration: ROUND_SEC, ...opts });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors };
}

export async function benchApi(env: { databaseUrl: string; redisUrl: string }): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  await migrate({ connectionString: env.databaseUrl, schema });
  const [apiPort, barePort, uncachedPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const children: ChildProcess[] = [];
  const apiEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: env.databaseUrl,
    DATABASE_SCHEMA: schema,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: prefix,
    API_PORT: String(apiPort),
    APP_ORIGIN: 'http://localhost:3000',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_BOT_USERNAME: 'amanat_bench_bot',
    DEPOSIT_XPUB: accountXpub('test test test test test test test test test test test junk'),
    ASSIST_SERVICE_SECRET: randomBytes(32).toString('hex'),
    PAYMENT_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    RPC_URLS: JSON.stringify({ 31337: ['http://127.0.0.1:8545'] }),
    RATE_LIMIT_IP_PER_MIN: '1000000',
    RATE_LIMIT_USER_PER_MIN: '1000000',
  };
  try {
    // Production settings, request logs on (written to a pipe nobody reads, as a log shipper would).
    const api = spawn(nodeBin, [...API_PROCESS.nodeArgs, 'api/src/main.ts'], {
      cwd: root,
      env: { ...apiEnv, ...API_PROCESS.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    api.stdout?.resume();
    children.push(api);
    // The same API without its deal read cache, to show what a read costs when nothing is reused.
    const uncached = spawn(nodeBin, [...API_PROCESS.nodeArgs, 'api/src/main.ts'], {
      cwd: root,
      env: { ...apiEnv, ...API_PROCESS.env, API_PORT: String(uncachedPort), DEAL_READ_CACHE_MS: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(uncached);
    const bare = spawn(nodeBin, ['bench/bare-express.ts'], {
      cwd: root,
      env: { ...process.env, PORT: String(barePort) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(bare);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const bareUrl = `http://127.0.0.1:${barePort}/`;
    await waitFor(`${apiUrl}/healthz`, api, 'the API');
    await waitFor(`http://127.0.0.1:${uncachedPort}/healthz`, uncached, 'the API without read cache');
    await waitFor(bareUrl, bare, 'the bare Express server');

    const initData = signInitData(
      {
        auth_date: String(Math.floor(Date.now() / 1000)),
        user: JSON.stringify({ id: 424242, first_name: 'Bench' }),
      },
      secretKeyFor(BOT_TOKEN),
    );
    const session = await fetch(`${apiUrl}/api/auth/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ initData }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const headers = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };
    const createBody = JSON.stringify({
      title: 'Bench bicycle',
      amount: '100.5',
      asset: { chainId: 31337, token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
      role: 'seller',
      address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    });
    const deal = await fetch(`${apiUrl}/api/deals`, { method: 'POST', headers, body: createBody }).then(
      (r) => r.json() as Promise<{ id: string }>,
    );
    const dealUrl = `${apiUrl}/api/deals/${deal.id}`;
    const uncachedDealUrl = `http://127.0.0.1:${uncachedPort}/api/deals/${deal.id}`;

    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(api.pid as number));
    }, 200);
    // Warm-up: connections, prepared statements, JIT.
    await load({ url: dealUrl, headers, duration: 2 });
    await load({ url: `${apiUrl}/api/deals`, method: 'POST', headers, body: createBody, duration: 2 });

    await load({ url: uncachedDealUrl, headers, duration: 2 });

    const rounds = { bare: [] as Round[], get: [] as Round[], post: [] as Round[], uncached: [] as Round[] };
    for (let i = 0; i < ROUNDS; i++) {
      rounds.bare.push(await load({ url: bareUrl }));
      rounds.get.push(await load({ url: dealUrl, headers }));
      rounds.uncached.push(await load({ url: uncachedDealUrl, headers }));
      rounds.post.push(await load({ url: `${apiUrl}/api/deals`, method: 'POST', headers, body: createBody }));
    }
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssMb(api.pid as number));

    const m = (rs: Round[], k: keyof Round) => median(rs.map((r) => r[k]));
    const ratio = median(rounds.get.map((g, i) => g.rps / (rounds.bare[i] as Round).rps));
    const errors = [...rounds.get, ...rounds.post, ...rounds.uncached].reduce((n, r) => n + r.non2xx, 0);
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    const row = (name: string, rs: Round[]) =>
      `  ${name.padEnd(34)} ${m(rs, 'rps').toFixed(0).padStart(7)} req/s   p50 ${m(rs, 'p50').toFixed(1).padStart(5)} ms   p99 ${m(rs, 'p99').toFixed(1).padStart(5)} ms`;
    console.log(
      `\nbench:api (${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${ROUND_SEC}s, medians; API with NODE_ENV=production, request logs on)`,
    );
    console.log(row('(1) bare Express 5 handler', rounds.bare));
    console.log(row('(2) GET /api/deals/:id (signed in)', rounds.get));
    console.log(row('(3) POST /api/deals (signed in)', rounds.post));
    console.log(row('    (2) with DEAL_READ_CACHE_MS=0', rounds.uncached));
    console.log(
      `  ratio (2)/(1) per round          ${rounds.get.map((g, i) => (g.rps / (rounds.bare[i] as Round).rps).toFixed(2)).join(', ')}`,
    );
    console.log(
      `  ratio (2)/(1), median            ${ratio.toFixed(2).padStart(7)}   target >= 0.30   ${ok(ratio >= 0.3)}`,
    );
    console.log(
      `  (2) p99                          ${m(rounds.get, 'p99').toFixed(1).padStart(7)} ms target < 50    ${ok(m(rounds.get, 'p99') < 50)}`,
    );
    console.log(
      `  (3) creates/s                    ${m(rounds.post, 'rps').toFixed(0).padStart(7)}   target >= 500   ${ok(m(rounds.post, 'rps') >= 500)}`,
    );
    console.log(
      `  API process peak RSS             ${peakRss.toFixed(0).padStart(7)} MB target < 200   ${ok(peakRss < 200)}`,
    );
    console.log(`  non-2xx answers under load       ${String(errors).padStart(7)}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    const admin = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
}
