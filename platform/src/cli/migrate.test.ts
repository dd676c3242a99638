import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../devstack/testing.ts';

const cli = fileURLToPath(new URL('./migrate.ts', import.meta.url));
const schema = `m_${randomBytes(5).toString('hex')}`;
/** Every migration file, in the order they apply. */
const migrations = readdirSync(fileURLToPath(new URL('../../migrations', import.meta.url)))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();
const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [cli], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

afterAll(async () => {
  const client = new pg.Client({ connectionString: testEnv().databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe('npm run migrate', () => {
  it('applies the migrations once, then reports the schema up to date', () => {
    const env = { DATABASE_URL: testEnv().databaseUrl, DATABASE_SCHEMA: schema };
    const first = run(env);
    expect(migrations[0]).toBe('1732460000000_foundation');
    expect([first.status, first.stdout.trim()]).toEqual([0, `applied: ${migrations.join(', ')}`]);
    const second = run(env);
    expect([second.status, second.stdout.trim()]).toEqual([0, 'already up to date']);
  });

  it('says what to set when DATABASE_URL is missing or wrong', () => {
    expect(run({})).toMatchObject({ status: 2, stderr: 'migrate: DATABASE_URL is required but not set\n' });
    expect(run({ DATABASE_URL: 'mysql://x' })).toMatchObject({
      status: 2,
      stderr: 'migrate: DATABASE_URL must be a postgres:// URL\n',
    });
  });
});
