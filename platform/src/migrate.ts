import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SCHEMA_NAME } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * Brings the schema up to date. node-pg-migrate holds an advisory lock while it runs, so several
 * processes starting at once apply each migration exactly once.
 */
export async function migrate(opts: {
  connectionString: string;
  schema?: string;
  log?: (msg: string) => void;
}): Promise<string[]> {
  const schema = opts.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`Invalid schema name '${schema}'`);
  // Only processes that migrate pay for loading the migration runner.
  const { runner } = await import('node-pg-migrate');
  const client = new pg.Client({ connectionString: opts.connectionString });
  await client.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      schema,
      createSchema: true,
      checkOrder: true,
      singleTransaction: true,
      // Several processes (or test files) starting at once wait for the one migrating, not fail.
      advisoryLockMode: 'wait',
      log: opts.log ?? (() => {}),
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}
