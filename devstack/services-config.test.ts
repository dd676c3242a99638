import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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
    const registry = start('api', { ...base, ASSET_REGISTRY: '{"tokens":[{"chainId":1}]}' });
    expect(registry.status).toBe(1);
    expect(registry.stderr).toContain('api: invalid configuration');
    expect(registry.stderr).toContain('ASSET_REGISTRY');
  });
});
