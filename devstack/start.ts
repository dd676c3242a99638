// `npm start`: brings up PostgreSQL, Redis and an EVM chain (configured ones, or local defaults), runs the
// migrations, starts every service that exists with prefixed logs, prints where to open things, and
// stops everything cleanly on Ctrl-C.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { migrate } from '@amanat/platform';
import { toHex } from 'viem';
import { hashAdminPassword } from '../api/src/admin/basic-auth.ts';
import { API_PROCESS } from '../api/src/process-settings.ts';
import { ASSIST_PROCESS } from '../assist/src/process-settings.ts';
import { SCANNER_PROCESS } from '../scanner/src/process-settings.ts';
import { WORKERS_PROCESS } from '../workers/src/process-settings.ts';
import { ensureAppBuild } from './app-build.ts';
import { type AnvilHandle, anvilDevAccounts, DEMO_TOKENS, deployDemoTokens, startAnvil } from './chain.ts';
import { resolvePostgres, resolveRedis, type Service } from './infra.ts';
import { isPortFree } from './ports.ts';
import { RUNNING_FILE, type RunningStack } from './running.ts';
import { loadDevSecrets } from './secrets.ts';

const root = join(import.meta.dirname, '..');
const dataDir = process.env.DATA_DIR ? join(root, process.env.DATA_DIR) : join(root, '.data');
const log = (msg: string) => console.log(`[start] ${msg}`);

/** Services in start order; each runs when its workspace has a `start` script. */
const SERVICES = ['api', 'workers', 'scanner', 'assist', 'app'] as const;
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];

if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));

const stops: Array<() => Promise<void>> = [];
const children = new Map<string, ChildProcess>();
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  log('stopping…');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop().catch((err) => log(`stop failed: ${err.message}`));
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** Polls each service's liveness URL until it answers 2xx or `ms` pass; the services that never did. */
async function waitForHealth(urls: Map<string, string>, ms: number): Promise<string[]> {
  const pending = new Map(urls);
  for (const deadline = Date.now() + ms; pending.size > 0 && Date.now() < deadline; ) {
    await Promise.all(
      [...pending].map(async ([name, url]) => {
        const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) pending.delete(name);
      }),
    );
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  return [...pending.keys()];
}

/** Per-service process settings (V8 flags, allocator), the same ones the benchmark runs with. */
const PROCESS_SETTINGS: Record<string, { nodeArgs: readonly string[]; env: Record<string, string> }> = {
  api: API_PROCESS,
  scanner: SCANNER_PROCESS,
  assist: ASSIST_PROCESS,
  workers: WORKERS_PROCESS,
};

/**
 * The bot runs only with a token Telegram knows. Without one the API still needs a token to check init
 * data, so it gets the generated development token and the bot and the notifications stay off.
 */
async function resolveBot(
  devToken: string,
  apiRoot: string,
): Promise<{ token: string; username: string; real: boolean; note: string }> {
  const given = process.env.TELEGRAM_BOT_TOKEN;
  if (!given) {
    return {
      token: devToken,
      username: process.env.TELEGRAM_BOT_USERNAME ?? 'amanat_dev_bot',
      real: false,
      note: 'off: no TELEGRAM_BOT_TOKEN (put one from @BotFather in .env to run the bot and Telegram notifications)',
    };
  }
  // The username makes t.me links; Telegram says what it is, unless .env says it already.
  const me = await fetch(`${apiRoot}/bot${given}/getMe`, { signal: AbortSignal.timeout(10_000) })
    .then((r) => r.json() as Promise<{ ok: boolean; description?: string; result?: { username: string } }>)
    .catch(() => null);
  if (me && !me.ok) {
    throw new Error(
      `Telegram refused TELEGRAM_BOT_TOKEN (${me.description ?? 'getMe failed'}): check the token in .env`,
    );
  }
  const username = process.env.TELEGRAM_BOT_USERNAME ?? me?.result?.username ?? 'amanat_dev_bot';
  // Unreachable is not fatal: the bot keeps retrying and everything else runs meanwhile.
  const note = me ? `on: @${username}` : `on, but Telegram is unreachable from here (the bot keeps retrying)`;
  return { token: given, username, real: true, note };
}

function startService(name: string, color: string, env: NodeJS.ProcessEnv): ChildProcess {
  const settings = PROCESS_SETTINGS[name] ?? { nodeArgs: [], env: {} };
  const pkg = JSON.parse(readFileSync(join(root, name, 'package.json'), 'utf8')) as { main?: string };
  const entry = join(root, name, pkg.main ?? join('src', 'main.ts'));
  const child = spawn(process.execPath, [...settings.nodeArgs, entry], {
    cwd: root,
    env: { ...env, ...settings.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches the launcher, which stops services in order.
    detached: true,
  });
  const prefix = `${color}[${name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => console.log(prefix + line));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping everything`);
      void shutdown(1);
    }
  });
  return child;
}

/**
 * The payout signer's environment. On the local anvil the workers process also runs the payouts role,
 * with the development deposit mnemonic, anvil dev account 9 as the gas tank and dev account 8 as the fee
 * address (the demo tokens are deployed from account 0 and `demo:pay` pays from account 1; nothing else
 * sends from 9, so the signer's nonces stay its own). .env overrides each of them. On a configured chain
 * the payouts role runs only when .env asks for it (WORKERS_ROLES and the keys).
 */
function payoutEnv(localChain: boolean, secrets: { DEV_DEPOSIT_MNEMONIC: string }): Record<string, string> {
  const given = process.env;
  const roles = given.WORKERS_ROLES;
  if (!localChain || (roles !== undefined && !roles.split(',').some((r) => r.trim() === 'payouts')))
    return {};
  const [fee, tank] = anvilDevAccounts(10).slice(8);
  const tankKey = tank?.getHdKey().privateKey;
  if (!fee || !tankKey) throw new Error('anvil dev accounts 8 and 9 are missing');
  return {
    WORKERS_ROLES: roles ?? 'all,payouts',
    ...(given.PAYOUT_MNEMONIC_FILE
      ? {}
      : { PAYOUT_MNEMONIC: given.PAYOUT_MNEMONIC ?? secrets.DEV_DEPOSIT_MNEMONIC }),
    ...(given.GAS_TANK_KEY_FILE ? {} : { GAS_TANK_KEY: given.GAS_TANK_KEY ?? toHex(tankKey) }),
    FEE_ADDRESS: given.FEE_ADDRESS ?? fee.address,
  };
}

async function resolveChain(): Promise<{ rpcUrls: string; source: string; local: boolean }> {
  if (process.env.RPC_URLS) return { rpcUrls: process.env.RPC_URLS, source: 'RPC_URLS', local: false };
  const port = (await isPortFree(8545)) ? 8545 : undefined;
  const anvil: AnvilHandle = await startAnvil({
    ...(port ? { port } : {}),
    statePath: join(dataDir, 'anvil-state.json'),
    // A block every second, as on a real chain: payments reach their confirmation count on their own.
    blockTime: 1,
  });
  stops.push(() => anvil.stop());
  await deployDemoTokens(anvil.rpcUrl);
  return {
    rpcUrls: JSON.stringify({ [anvil.chainId]: [anvil.rpcUrl] }),
    source: `local anvil at ${anvil.rpcUrl} (chain ${anvil.chainId}; ${DEMO_TOKENS.usdt.symbol} ${DEMO_TOKENS.usdt.address}, ${DEMO_TOKENS.usdc.symbol} ${DEMO_TOKENS.usdc.address})`,
    local: true,
  };
}

try {
  const postgres: Service = await resolvePostgres({ dataDir: join(dataDir, 'pg'), persistent: true, log });
  stops.push(() => postgres.stop());
  const redis: Service = await resolveRedis({ dataDir: join(dataDir, 'redis'), persistent: true, log });
  stops.push(() => redis.stop());
  const chain = await resolveChain();
  const applied = await migrate({ connectionString: postgres.url, log: () => {} });
  const secrets = loadDevSecrets(join(dataDir, 'secrets.json'));
  const workersPayoutEnv = payoutEnv(chain.local, secrets);

  const appPort = process.env.APP_PORT ?? '3000';
  const bot = await resolveBot(
    secrets.TELEGRAM_DEV_BOT_TOKEN,
    process.env.TELEGRAM_API_ROOT ?? 'https://api.telegram.org',
  );
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'development',
    CHECKPOINT_FILE: join(dataDir, 'checkpoints.jsonl'),
    ...secrets,
    // Development sign-in with init data signed by the bot token (the generated one unless .env has a
    // real one); Telegram ids 1 and 2 are the local operator and arbitrator.
    TELEGRAM_BOT_USERNAME: bot.username,
    DEV_SIGN_IN: 'true',
    OPERATOR_TELEGRAM_IDS: '1',
    ARBITRATOR_TELEGRAM_IDS: '2',
    APP_ORIGIN: `http://localhost:${appPort}`,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD_HASH: await hashAdminPassword(secrets.DEV_ADMIN_PASSWORD),
    ...process.env,
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    RPC_URLS: chain.rpcUrls,
    TELEGRAM_BOT_TOKEN: bot.token,
  };
  const apiPort = env.API_PORT ?? '8080';
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  env.PAYMENT_CALLBACK_URL ??= `${apiUrl}/api/payment/callback`;
  env.SCAN_CHECKPOINT_DIR ??= join(dataDir, 'scan-checkpoints');
  env.SCAN_INTERVAL_MS ??= '1000';
  env.API_URL ??= apiUrl;
  const assistPort = env.ASSIST_PORT ?? '8090';
  const assistUrl = `http://127.0.0.1:${assistPort}`;
  // The app's browser side talks to the API and the assistant directly (CORS allows APP_ORIGIN).
  env.APP_PORT = appPort;
  env.APP_HOST ??= '127.0.0.1';
  env.PUBLIC_API_URL ??= apiUrl;
  env.PUBLIC_ASSIST_URL ??= assistUrl;
  env.PUBLIC_DEV_SIGN_IN ??= env.DEV_SIGN_IN;
  // For `npm run demo:pay`: where this run's database and chain are (they sit on free ports).
  writeFileSync(
    join(dataDir, RUNNING_FILE),
    JSON.stringify({
      databaseUrl: postgres.url,
      databaseSchema: env.DATABASE_SCHEMA ?? 'public',
      rpcUrls: JSON.parse(chain.rpcUrls),
      apiUrl,
      assistUrl,
      appOrigin: env.APP_ORIGIN as string,
    } satisfies RunningStack),
    { mode: 0o600 },
  );
  stops.push(async () => rmSync(join(dataDir, RUNNING_FILE), { force: true }));

  log(`PostgreSQL: ${postgres.source}${applied.length ? `; applied migrations: ${applied.join(', ')}` : ''}`);
  log(`Redis: ${redis.source}`);
  log(`Chain: ${chain.source}`);

  const runnable = SERVICES.filter(
    (name) => JSON.parse(readFileSync(join(root, name, 'package.json'), 'utf8')).scripts?.start,
  );
  // The app is served as its production build (service worker, offline mode), rebuilt when stale.
  if (runnable.includes('app')) await ensureAppBuild(log);

  const started: string[] = [];
  SERVICES.forEach((name, i) => {
    if (!runnable.includes(name)) {
      log(`${name}: not built yet, skipped`);
      return;
    }
    // Only the API may hold the development token: the bot and the notification worker would only ever
    // get 401s from Telegram with it.
    const serviceEnv = { ...env };
    if (!bot.real && name !== 'api') delete serviceEnv.TELEGRAM_BOT_TOKEN;
    // Only the payout signer (workers) holds spending keys; every other service gets the xpub alone.
    delete serviceEnv.DEV_DEPOSIT_MNEMONIC;
    if (name === 'workers') Object.assign(serviceEnv, workersPayoutEnv);
    children.set(name, startService(name, COLORS[i % COLORS.length] as string, serviceEnv));
    started.push(name);
  });

  const lines = ['', 'Amanat is running. Ctrl-C stops everything.'];
  if (started.includes('app'))
    lines.push(
      `  App:        ${env.APP_ORIGIN}  (production build; \`npm run dev:app\` for hot reload; sign in with the development sign-in)`,
    );
  if (started.includes('api')) {
    lines.push(`  API:        ${apiUrl}  (health: ${apiUrl}/healthz)`);
    lines.push(`  API docs:   ${apiUrl}/api/docs  (OpenAPI: ${apiUrl}/api/openapi.json)`);
  }
  if (started.includes('workers'))
    lines.push(`  Workers:    health at http://127.0.0.1:${env.WORKERS_HEALTH_PORT ?? '8070'}/readyz`);
  if (started.includes('scanner'))
    lines.push(`  Scanner:    health at http://127.0.0.1:${env.SCANNER_HEALTH_PORT ?? '8060'}/readyz`);
  if (started.includes('assist')) {
    lines.push(
      `  Assistant:  ${assistUrl}/v1/chat/completions  (OpenAI-compatible; ${env.LLM_PROVIDERS ? 'LLM_PROVIDERS' : 'the built-in responder: set LLM_PROVIDERS for a real model'})`,
    );
    lines.push(`  Telegram bot: ${bot.note}`);
  }
  if (!process.env.RPC_URLS)
    lines.push(
      '  Pay a deal: npm run demo:pay -- <dealId>  (from a funded local account, waits until funded)',
    );
  // The banner comes once every service answers its liveness check (so it is not buried under their
  // first log lines, and what it lists is really there), or after a minute naming those that do not.
  const healthUrls: Record<string, string> = {
    api: `${apiUrl}/healthz`,
    workers: `http://127.0.0.1:${env.WORKERS_HEALTH_PORT ?? '8070'}/healthz`,
    scanner: `http://127.0.0.1:${env.SCANNER_HEALTH_PORT ?? '8060'}/healthz`,
    assist: `${assistUrl}/healthz`,
    app: `${env.APP_ORIGIN}/healthz`,
  };
  const silent = await waitForHealth(
    new Map(started.map((name) => [name, healthUrls[name] as string])),
    60_000,
  );
  const board = await fetch(`${apiUrl}/admin/queues`).then(
    (r) => r.status !== 404,
    () => false,
  );
  lines.push(
    board
      ? `  bull-board: ${apiUrl}/admin/queues  (user admin, password DEV_ADMIN_PASSWORD in ${join(dataDir, 'secrets.json')})`
      : '  bull-board: not served by this API version yet',
  );
  if (silent.length > 0) lines.push(`  Not answering yet (see their logs): ${silent.join(', ')}`);
  lines.push('');
  console.log(lines.join('\n'));
} catch (err) {
  console.error(`[start] ${(err as Error).message}`);
  await shutdown(1);
}
