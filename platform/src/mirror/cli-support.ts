import { baseConfigSchema } from '@amanat/core';
import { z } from 'zod';
import { createPool, type Pool } from '../db.ts';
import type { BackfillReport } from './backfill.ts';
import type { CompareResult } from './compare.ts';
import { connectLegacyMongo, type LegacyMongo } from './mirror.ts';

/** Exit codes of the backfill and verify commands. */
export const LEGACY_CLI_EXIT = { ok: 0, differs: 1, config: 2 } as const;

const legacyEnvSchema = z.object({
  DATABASE_URL: baseConfigSchema.shape.DATABASE_URL,
  MONGO_URL: baseConfigSchema.shape.MONGO_URL.unwrap(),
  MONGO_DB: baseConfigSchema.shape.MONGO_DB,
});
export type LegacyEnv = z.infer<typeof legacyEnvSchema>;

const HINTS: Record<string, string> = {
  DATABASE_URL:
    'set DATABASE_URL to the PostgreSQL source of truth, e.g. postgres://user@127.0.0.1:5432/amanat',
  MONGO_URL:
    'set MONGO_URL to the legacy MongoDB, e.g. mongodb://127.0.0.1:27017 (and MONGO_DB, default amanat_legacy)',
  MONGO_DB: 'set MONGO_DB to the legacy database name, or leave it unset for amanat_legacy',
};

/** The environment both commands need, or one line per variable saying what to set (never its value). */
export function readLegacyEnv(
  env: Record<string, string | undefined>,
): { ok: true; env: LegacyEnv } | { ok: false; lines: string[] } {
  const parsed = legacyEnvSchema.safeParse({
    DATABASE_URL: env.DATABASE_URL || undefined,
    MONGO_URL: env.MONGO_URL || undefined,
    MONGO_DB: env.MONGO_DB || undefined,
  });
  if (parsed.success) return { ok: true, env: parsed.data };
  const lines = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0]);
    if (lines.has(name)) continue;
    const missing = env[name] === undefined || env[name] === '';
    lines.set(
      name,
      missing ? `${name} is not set: ${HINTS[name]}` : `${name} ${issue.message}: ${HINTS[name]}`,
    );
  }
  return { ok: false, lines: [...lines.values()] };
}

const listed = (ids: string[], limit: number): string[] => [
  ...ids.slice(0, limit).map((id) => `  ${id}`),
  ...(ids.length > limit ? [`  … and ${ids.length - limit} more`] : []),
];

/** What `verify` prints: counts, ids found on one side only, and differing ids with their fields. */
export function formatCompareReport(result: CompareResult, limit = 20): string[] {
  const lines = [
    `deals in PostgreSQL: ${result.pgCount}`,
    `deals in MongoDB:    ${result.mongoCount}`,
    `only in PostgreSQL:  ${result.onlyInPg.length}`,
    ...listed(result.onlyInPg, limit),
    `only in MongoDB:     ${result.onlyInMongo.length}`,
    ...listed(result.onlyInMongo, limit),
    `different:           ${result.different.length}`,
    ...listed(
      result.different.map((d) => `${d.id}: ${d.fields.join(', ')}`),
      limit,
    ),
  ];
  if (result.samples.length > 0) {
    lines.push('sample differences (PostgreSQL | MongoDB):');
    for (const s of result.samples) lines.push(`  ${s.id} ${s.field}: ${s.pg} | ${s.mongo}`);
  }
  lines.push(storesAgree(result) ? 'the stores agree' : 'the stores DIFFER');
  return lines;
}

export const storesAgree = (r: CompareResult): boolean =>
  r.onlyInPg.length === 0 && r.onlyInMongo.length === 0 && r.different.length === 0;

/** What `backfill` prints for one collection. */
export function formatBackfillReport(what: string, report: BackfillReport): string[] {
  return [
    `${what}: imported ${report.imported}, already present ${report.skipped}, invalid ${report.invalid.length}`,
    ...report.invalid.map((i) => `  invalid ${i.id}: ${i.reason}`),
  ];
}

/**
 * The frame of a command that reads both stores: checks the environment (exit 2 with what to set),
 * opens PostgreSQL and MongoDB, runs `work` for its exit code, reports a failure in one line (exit 1),
 * and always closes both.
 */
export async function runLegacyCommand(
  name: string,
  work: (stores: { pool: Pool; mongo: LegacyMongo }) => Promise<number>,
): Promise<never> {
  const config = readLegacyEnv(process.env);
  if (!config.ok) {
    for (const line of config.lines) console.error(line);
    process.exit(LEGACY_CLI_EXIT.config);
  }
  const pool = createPool({
    connectionString: config.env.DATABASE_URL,
    max: 2,
    applicationName: `amanat-${name}`,
  });
  let exitCode: number = LEGACY_CLI_EXIT.differs;
  try {
    const mongo = await connectLegacyMongo(config.env.MONGO_URL, config.env.MONGO_DB);
    try {
      exitCode = await work({ pool, mongo });
    } finally {
      await mongo.close();
    }
  } catch (error) {
    console.error(`${name} could not finish: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await pool.end();
  }
  process.exit(exitCode);
}
