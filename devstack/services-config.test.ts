import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testApiEnv } from '../api/src/testing.ts';

const root = join(import.meta.dirname, '..');

/** Starts a service entry point with the given environment only, as a misconfigured deployment would. */
const start = (service: string, env: Record<string, string>) =>
  spawnSync(process.execPath, [join(root, service, 'src', 'main.ts')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });

describe('service start-up configuration', () => {
  it('workers name every missing or invalid variable in one message and exit 1, without a stack trace', () => {
    const r = start('workers', { REDIS_URL: 'http://not-redis', STORAGE_MODE: 'dual' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('workers: invalid configuration (4 problems)');
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'CHECKPOINT_SIGNING_KEY', 'MONGO_URL'])
      expect(r.stderr).toContain(`- ${name}:`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a malformed signing key or asset registry is reported the same way', () => {
    const base = { DATABASE_URL: 'postgres://u@127.0.0.1:1/db', REDIS_URL: 'redis://127.0.0.1:1' };
    const key = start('workers', { ...base, CHECKPOINT_SIGNING_KEY: 'not-a-key' });
    expect(key.status).toBe(1);
    expect(key.stderr).toMatch(/key/i);
    expect(key.stderr).not.toMatch(/\n\s+at /);
    const api = {
      ...base,
      ...testApiEnv({ url: base.DATABASE_URL, schema: 'public' }, { url: base.REDIS_URL, prefix: 'x' }),
    };
    const registry = start('api', { ...api, ASSET_REGISTRY: '{"tokens":[{"chainId":1}]}' });
    expect(registry.status).toBe(1);
    expect(registry.stderr).toContain('api: invalid configuration');
    expect(registry.stderr).toContain('ASSET_REGISTRY');
    // A private key where the xpub belongs: refused before anything connects.
    const xprv = start('api', { ...api, DEPOSIT_XPUB: `xprv${'9'.repeat(107)}` });
    expect(xprv.status).toBe(1);
    expect(xprv.stderr).toContain('DEPOSIT_XPUB');
    expect(xprv.stderr).not.toMatch(/\n\s+at /);
  });

  it('the API names every missing variable, refuses the development sign-in in production, and says when Redis is down', () => {
    const r = start('api', { NODE_ENV: 'production', DEV_SIGN_IN: 'true' });
    expect(r.status).toBe(1);
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'APP_ORIGIN',
      'TELEGRAM_BOT_TOKEN',
      'DEPOSIT_XPUB',
      'ASSIST_SERVICE_SECRET',
      'DEV_SIGN_IN',
    ])
      expect(r.stderr).toContain(`- ${name}:`);
    const down = start('api', {
      ...testApiEnv(
        { url: 'postgres://u@127.0.0.1:1/db', schema: 'public' },
        { url: 'redis://127.0.0.1:1', prefix: 'x' },
      ),
      LOG_LEVEL: 'info',
    });
    expect(down.status).toBe(1);
    expect(down.stdout).toContain('Redis does not answer at REDIS_URL');
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
