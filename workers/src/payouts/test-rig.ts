import { DealStore } from '@amanat/platform';
import { type AnvilHandle, deployDemoTokens, startAnvil } from '../../../devstack/chain.ts';
import { type ChainClients, chainClients } from '../../../devstack/test-chain.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../../devstack/testing.ts';
import { startTestScanner, type TestScanner } from '../../../scanner/src/test-scanner.ts';

/** What the payout signer's tests run on: a chain with the demo tokens, PostgreSQL, Redis and a scanner. */
export interface SignerTestRig {
  anvil: AnvilHandle;
  c: ChainClients;
  db: TestDatabase;
  redis: TestRedis;
  /** The real scanner over the rig's anvil: payouts confirm only on its view. */
  scanner: TestScanner;
  store: DealStore;
  close(): Promise<void>;
}

export async function startSignerTestRig(confirmations: number): Promise<SignerTestRig> {
  const [anvil, db, redis] = await Promise.all([startAnvil(), createTestDatabase(), createTestRedis()]);
  const c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  const scanner = await startTestScanner({
    rpcUrl: anvil.rpcUrl,
    confirmations,
    redisUrl: redis.url,
    prefix: redis.prefix,
  });
  return {
    anvil,
    c,
    db,
    redis,
    scanner,
    store: new DealStore({ pool: db.pool }),
    async close() {
      await scanner.close();
      await Promise.all([anvil.stop(), db.close(), redis.close()]);
    },
  };
}
