/**
 * Compares every deal in PostgreSQL (the source of truth) with the legacy MongoDB store.
 * Exit codes: 0 the stores agree, 1 they differ (or the comparison could not finish), 2 configuration.
 * While STORAGE_MODE=dual serves traffic, a deal changed in the last moments may differ until its mirror
 * job has run; run it again before acting on a single difference.
 */
import {
  compareStores,
  formatCompareReport,
  LEGACY_CLI_EXIT,
  pgDealsAsLegacy,
  runLegacyCommand,
  storesAgree,
} from '../mirror/index.ts';

await runLegacyCommand('verify', async ({ pool, mongo }) => {
  const result = await compareStores({
    pgDeals: pgDealsAsLegacy(pool),
    mongoDeals: mongo.deals.find({}).sort({ _id: 1 }),
  });
  for (const line of formatCompareReport(result)) console.log(line);
  return storesAgree(result) ? LEGACY_CLI_EXIT.ok : LEGACY_CLI_EXIT.differs;
});
