import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatBackfillReport, formatCompareReport, LEGACY_CLI_EXIT, readLegacyEnv } from './cli-support.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = `${root}node_modules/.bin/node`;

const run = async (script: string, env: Record<string, string>) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(node, [`platform/src/cli/${script}.ts`], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('backfill and verify commands', () => {
  for (const script of ['verify', 'backfill']) {
    it(`${script} without MONGO_URL says what to set in one line and exits 2`, async () => {
      const result = await run(script, { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
      expect(result.code).toBe(LEGACY_CLI_EXIT.config);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^MONGO_URL is not set: set MONGO_URL to/),
      ]);
    });
  }

  it('names each missing or malformed variable without echoing its value', () => {
    const result = readLegacyEnv({ DATABASE_URL: 'mysql://secret@db/x', MONGO_URL: '' });
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.lines;
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^DATABASE_URL must start with postgres/);
    expect(lines[1]).toMatch(/^MONGO_URL is not set/);
    expect(lines.join('\n')).not.toContain('secret');
    expect(readLegacyEnv({ DATABASE_URL: 'postgres://h/db', MONGO_URL: 'mongodb://h:27017' })).toEqual({
      ok: true,
      env: { DATABASE_URL: 'postgres://h/db', MONGO_URL: 'mongodb://h:27017', MONGO_DB: 'amanat_legacy' },
    });
  });

  it('verify lists at most 20 ids per side, and each differing id with its fields', () => {
    const ids = Array.from({ length: 23 }, (_, i) => `id-${String(i).padStart(2, '0')}`);
    const lines = formatCompareReport({
      pgCount: 30,
      mongoCount: 8,
      onlyInPg: ids,
      onlyInMongo: ['m-1'],
      different: [{ id: 'd-1', fields: ['price', 'seller.telegramId'] }],
      samples: [{ id: 'd-1', field: 'price', pg: '100', mongo: '101' }],
    });
    expect(lines).toContain('  id-19');
    expect(lines).not.toContain('  id-20');
    expect(lines).toContain('  … and 3 more');
    expect(lines).toContain('  m-1');
    expect(lines).toContain('  d-1: price, seller.telegramId');
    expect(lines).toContain('  d-1 price: 100 | 101');
    expect(lines.at(-1)).toBe('the stores DIFFER');
  });

  it('backfill prints counts and every invalid id with its reason', () => {
    expect(
      formatBackfillReport('deals', {
        imported: 2,
        skipped: 1,
        invalid: [{ id: 'x', reason: 'price: bad' }],
      }),
    ).toEqual(['deals: imported 2, already present 1, invalid 1', '  invalid x: price: bad']);
  });
});
