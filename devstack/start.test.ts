import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from './ports.ts';

const root = join(import.meta.dirname, '..');
const dataDir = `.data/test-start-${randomBytes(4).toString('hex')}`;
let child: ChildProcess | null = null;
let output = '';

// A failed run still stops what the launcher started: SIGTERM first (it stops its services and
// infrastructure), then SIGKILL for its whole process group (anvil, redis-server, PostgreSQL included).
afterAll(async () => {
  const running = child;
  if (running?.pid !== undefined && running.exitCode === null) {
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  rmSync(join(root, dataDir), { recursive: true, force: true });
}, 60_000);

const waitForOutput = async (pattern: RegExp, ms: number) => {
  const end = Date.now() + ms;
  while (!pattern.test(output)) {
    if (Date.now() > end || child?.exitCode !== null)
      throw new Error(`launcher did not print ${pattern}:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return pattern.exec(output) as RegExpExecArray;
};

describe('npm start (devstack/start.ts)', () => {
  it('brings up embedded PostgreSQL, its own Redis and anvil with no configuration, runs the services, and stops cleanly', async () => {
    const apiPort = await findFreePort();
    const healthPort = await findFreePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      API_PORT: String(apiPort),
      WORKERS_HEALTH_PORT: String(healthPort),
    };
    // No configuration at all: the launcher must resolve every piece itself.
    const scannerPort = await findFreePort();
    env.SCANNER_HEALTH_PORT = String(scannerPort);
    const assistPort = await findFreePort();
    env.ASSIST_PORT = String(assistPort);
    const appPort = await findFreePort();
    env.APP_PORT = String(appPort);
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'RPC_URLS',
      'CHECKPOINT_SIGNING_KEY',
      'NODE_ENV',
      'TELEGRAM_BOT_TOKEN',
      'LLM_PROVIDERS',
    ])
      delete env[name];
    child = spawn(process.execPath, [join(root, 'devstack/start.ts')], {
      cwd: root,
      env,
      // Its own process group, so a failed run can stop everything it started.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });

    // The first run builds the app (vite build) before serving it.
    await waitForOutput(/Amanat is running/, 240_000);
    expect(output).toMatch(/PostgreSQL: embedded PostgreSQL/);
    expect(output).toMatch(/Redis: redis-server on port \d+/);
    const rpc = (await waitForOutput(/local anvil at (http:\/\/127\.0\.0\.1:\d+)/, 1000))[1] as string;
    expect(output).toContain(`API:        http://127.0.0.1:${apiPort}`);
    // The banner waits for every service's liveness check; the log line may trail it by a moment.
    await waitForOutput(/\[workers\].*"workers started"/, 10_000);
    expect(output).not.toMatch(/Not answering yet/);

    const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    const workers = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(workers.status).toBe(200);

    // The app's production build, configured for this API and assistant: its CSP lets the page reach
    // them, and the browser's public environment names them.
    expect(output).toContain(`App:        http://localhost:${appPort}`);
    const app = `http://127.0.0.1:${appPort}`;
    expect((await fetch(`${app}/healthz`)).status).toBe(200);
    const shell = await fetch(`${app}/deals/new`);
    expect(shell.status).toBe(200);
    expect(await shell.text()).toContain('<title>Amanat</title>');
    expect(shell.headers.get('content-security-policy')).toContain(
      `connect-src 'self' http://127.0.0.1:${apiPort} ws://127.0.0.1:${apiPort} http://127.0.0.1:${assistPort}`,
    );
    const publicEnv = await (await fetch(`${app}/_app/env.js`)).text();
    expect(publicEnv).toContain(`PUBLIC_API_URL:"http://127.0.0.1:${apiPort}"`);
    expect(publicEnv).toContain('PUBLIC_DEV_SIGN_IN:true');

    // The banner lists bull-board, and the development sign-in makes the local operator (Telegram id 1)
    // who may open it and create a deal in the demo USDT.
    const api = `http://127.0.0.1:${apiPort}`;
    expect(output).toContain(`bull-board: ${api}/admin/queues`);
    const json = { 'content-type': 'application/json' };
    const dev = await fetch(`${api}/api/auth/dev`, {
      method: 'POST',
      headers: json,
      body: '{"telegramId":1}',
    });
    const session = (await dev.json()) as { token: string; user: { roles: string[] } };
    expect(session.user.roles).toEqual(['operator']);
    const auth = { authorization: `Bearer ${session.token}` };
    expect((await fetch(`${api}/admin/queues`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${api}/admin/queues`)).status).toBe(401);
    // The banner's break-glass login works too: user admin, the generated password.
    const { DEV_ADMIN_PASSWORD } = JSON.parse(readFileSync(join(root, dataDir, 'secrets.json'), 'utf8'));
    const basic = `Basic ${Buffer.from(`admin:${DEV_ADMIN_PASSWORD}`).toString('base64')}`;
    expect((await fetch(`${api}/admin/queues`, { headers: { authorization: basic } })).status).toBe(200);
    const created = await fetch(`${api}/api/deals`, {
      method: 'POST',
      headers: { ...json, ...auth },
      body: JSON.stringify({
        title: 'Local demo',
        amount: '12.5',
        asset: { chainId: 31337, token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
        role: 'seller',
        address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
      }),
    });
    expect(created.status).toBe(201);
    expect(output).toMatch(/\[scanner\].*"scanner started"/);

    // Without a bot token the banner says the bot is off and why; the assistant answers anyway, with the
    // built-in responder, for the same session.
    expect(output).toContain('Telegram bot: off: no TELEGRAM_BOT_TOKEN');
    const assistant = `http://127.0.0.1:${assistPort}`;
    expect(output).toContain(`Assistant:  ${assistant}/v1/chat/completions`);
    const answer = await fetch(`${assistant}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...json, ...auth },
      body: JSON.stringify({
        model: 'amanat-assistant',
        messages: [{ role: 'user', content: 'What are the fees?' }],
      }),
    });
    expect(answer.status).toBe(200);
    const completion = (await answer.json()) as { choices: Array<{ message: { content: string } }> };
    expect(completion.choices[0]?.message.content).toMatch(/basic assistant/i);

    // The documented demo: a buyer joins and both accept, then `npm run demo:pay -- <dealId>` pays the
    // deposit address on the local chain and the deal shows funded (scanner → API → workers).
    const deal = (await created.json()) as { id: string; invite: { code: string } };
    const buyer = (await (
      await fetch(`${api}/api/auth/dev`, { method: 'POST', headers: json, body: '{"telegramId":3}' })
    ).json()) as { token: string };
    const asBuyer = { ...json, authorization: `Bearer ${buyer.token}` };
    const post = (path: string, headers: Record<string, string>, body: unknown) =>
      fetch(`${api}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect(
      (
        await post('/api/deals/join', asBuyer, {
          code: deal.invite.code,
          address: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
        })
      ).status,
    ).toBe(200);
    expect((await post(`/api/deals/${deal.id}/accept`, { ...json, ...auth }, {})).status).toBe(200);
    expect((await post(`/api/deals/${deal.id}/accept`, asBuyer, {})).status).toBe(200);
    const pay = spawn(process.execPath, [join(root, 'devstack/demo-pay.ts'), deal.id], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let payOutput = '';
    pay.stdout?.on('data', (d) => {
      payOutput += d;
    });
    pay.stderr?.on('data', (d) => {
      payOutput += d;
    });
    const payExit = await new Promise<number | null>((resolve) => pay.once('exit', (code) => resolve(code)));
    expect(payExit, payOutput).toBe(0);
    expect(payOutput).toMatch(/sent 12\.5 USDT to 0x[0-9a-fA-F]{40}/);
    expect(payOutput).toMatch(/deal [0-9a-f-]{36}: funded \(12\.5 confirmed, 0 confirming\)/);
    const view = (await (await fetch(`${api}/api/deals/${deal.id}`, { headers: auth })).json()) as {
      state: string;
    };
    expect(view.state).toBe('funded');

    // The documented release: the buyer confirms, the payout signer (workers, payouts role) tops up the
    // deposit address's gas and pays the seller and the fee on the local chain, and the seller's balance
    // shows it.
    const release = spawn(process.execPath, [join(root, 'devstack/demo-release.ts'), deal.id], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let releaseOutput = '';
    for (const stream of [release.stdout, release.stderr])
      stream?.on('data', (d) => {
        releaseOutput += d;
      });
    const releaseExit = await new Promise<number | null>((resolve) =>
      release.once('exit', (c) => resolve(c)),
    );
    expect(releaseExit, `${releaseOutput}\n${output.slice(-4000)}`).toBe(0);
    expect(releaseOutput).toMatch(/paid seller: [\d.]+ USDT in 0x[0-9a-f]{64}/);
    expect(releaseOutput).toMatch(/paid fee: [\d.]+ USDT in 0x[0-9a-f]{64}/);
    const arrived = /released; seller 0x[0-9a-fA-F]{40} now holds [\d.]+ USDT \(\+([\d.]+) USDT\)/.exec(
      releaseOutput,
    );
    const released = (await (await fetch(`${api}/api/deals/${deal.id}`, { headers: auth })).json()) as {
      state: string;
      price: string;
      sellerFee: string;
    };
    expect(released.state).toBe('released');
    // What arrived is the price less the seller's fee, to the base unit (6 decimals).
    expect(Math.round(Number(arrived?.[1]) * 1e6)).toBe(
      Number(BigInt(released.price) - BigInt(released.sellerFee)),
    );

    // The demo USDT-like token is deployed on the local chain.
    const code = await fetch(rpc, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_getCode',
        params: ['0x5FbDB2315678afecb367f032d93F642f64180aa3', 'latest'],
      }),
    }).then((r) => r.json() as Promise<{ result: string }>);
    expect(code.result.length).toBeGreaterThan(2);

    // Development secrets are generated once and kept private.
    expect(statSync(join(root, dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (c) => resolve(c)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/\[start\] stopped/);
    // Services finish first, the infrastructure last.
    expect(output.indexOf('"msg":"stopped"')).toBeGreaterThan(-1);
    expect(output.indexOf('"msg":"stopped"')).toBeLessThan(output.indexOf('[start] stopped'));
    await expect(fetch(`http://127.0.0.1:${apiPort}/healthz`)).rejects.toThrow();
  }, 300_000);
});
