/**
 * Imports the legacy MongoDB users and deals into PostgreSQL. Idempotent: what is already in PostgreSQL
 * is left alone, so it can be run again after fixing invalid documents.
 * Exit codes: 0 everything valid was imported or present, 1 some documents are invalid (or the run
 * failed), 2 configuration.
 */
import {
  backfillDeals,
  backfillUsers,
  formatBackfillReport,
  LEGACY_CLI_EXIT,
  runLegacyCommand,
} from '../mirror/index.ts';

await runLegacyCommand('backfill', async ({ pool, mongo }) => {
  // Users first: the deal import then finds each party with their name and language.
  const users = await backfillUsers({ pool, docs: mongo.users.find({}).sort({ _id: 1 }) });
  for (const line of formatBackfillReport('users', users)) console.log(line);
  const deals = await backfillDeals({ pool, docs: mongo.deals.find({}).sort({ _id: 1 }) });
  for (const line of formatBackfillReport('deals', deals)) console.log(line);
  return users.invalid.length + deals.invalid.length === 0 ? LEGACY_CLI_EXIT.ok : LEGACY_CLI_EXIT.differs;
});
