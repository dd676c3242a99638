/**
 * Imports the legacy MongoDB users and deals into PostgreSQL. Idempotent: what is already in PostgreSQL
 * is left alone, so it can be run again after fixing invalid documents.
 * Exit codes: 0 everything valid was imported or present, 1 some documents are invalid (or the run
 * failed), 2 configuration.
 */
import { createPool } from '../db.ts';
import {
  backfillDeals,
  backfillUsers,
  connectLegacyMongo,
  formatBackfillReport,
  LEGACY_CLI_EXIT,
  readLegacyEnv,
} from '../mirror/index.ts';

const config = readLegacyEnv(process.env);
if (!config.ok) {
  for (const line of config.lines) console.error(line);
  process.exit(LEGACY_CLI_EXIT.config);
}

const pool = createPool({
  connectionString: config.env.DATABASE_URL,
  max: 2,
  applicationName: 'amanat-backfill',
});
let exitCode: number = LEGACY_CLI_EXIT.differs;
try {
  const mongo = await connectLegacyMongo(config.env.MONGO_URL, config.env.MONGO_DB);
  try {
    // Users first: the deal import then finds each party with their name and language.
    const users = await backfillUsers({ pool, docs: mongo.users.find({}).sort({ _id: 1 }) });
    for (const line of formatBackfillReport('users', users)) console.log(line);
    const deals = await backfillDeals({ pool, docs: mongo.deals.find({}).sort({ _id: 1 }) });
    for (const line of formatBackfillReport('deals', deals)) console.log(line);
    exitCode =
      users.invalid.length + deals.invalid.length === 0 ? LEGACY_CLI_EXIT.ok : LEGACY_CLI_EXIT.differs;
  } finally {
    await mongo.close();
  }
} catch (error) {
  console.error(`backfill could not finish: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await pool.end();
}
process.exit(exitCode);
