/**
 * Compares every deal in PostgreSQL (the source of truth) with the legacy MongoDB store.
 * Exit codes: 0 the stores agree, 1 they differ (or the comparison could not finish), 2 configuration.
 * While STORAGE_MODE=dual serves traffic, a deal changed in the last moments may differ until its mirror
 * job has run; run it again before acting on a single difference.
 */
import { createPool } from '../db.ts';
import {
  compareStores,
  connectLegacyMongo,
  formatCompareReport,
  LEGACY_CLI_EXIT,
  pgDealsAsLegacy,
  readLegacyEnv,
  storesAgree,
} from '../mirror/index.ts';

const config = readLegacyEnv(process.env);
if (!config.ok) {
  for (const line of config.lines) console.error(line);
  process.exit(LEGACY_CLI_EXIT.config);
}

const pool = createPool({
  connectionString: config.env.DATABASE_URL,
  max: 2,
  applicationName: 'amanat-verify',
});
let exitCode: number = LEGACY_CLI_EXIT.differs;
try {
  const mongo = await connectLegacyMongo(config.env.MONGO_URL, config.env.MONGO_DB);
  try {
    const result = await compareStores({
      pgDeals: pgDealsAsLegacy(pool),
      mongoDeals: mongo.deals.find({}).sort({ _id: 1 }),
    });
    for (const line of formatCompareReport(result)) console.log(line);
    exitCode = storesAgree(result) ? LEGACY_CLI_EXIT.ok : LEGACY_CLI_EXIT.differs;
  } finally {
    await mongo.close();
  }
} catch (error) {
  console.error(`verify could not finish: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await pool.end();
}
process.exit(exitCode);
