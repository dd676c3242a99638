/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL (schema DATABASE_SCHEMA, default public).
 * Safe to run from several processes at once: the migration runner holds an advisory lock.
 * Exit codes: 0 up to date, 1 a migration failed, 2 configuration.
 */
import { z } from 'zod';
import { migrate } from '../migrate.ts';

const env = z
  .object({
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier')
      .default('public'),
  })
  .safeParse(process.env);
if (!env.success) {
  for (const issue of env.error.issues) {
    const name = String(issue.path[0]);
    console.error(`migrate: ${name} ${process.env[name] ? issue.message : 'is required but not set'}`);
  }
  process.exit(2);
}

try {
  const applied = await migrate({
    connectionString: env.data.DATABASE_URL,
    schema: env.data.DATABASE_SCHEMA,
  });
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
} catch (err) {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
