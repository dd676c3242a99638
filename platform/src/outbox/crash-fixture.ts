// A child process for the outbox crash tests: it does one step and dies by SIGKILL at the chosen point,
// as a crashed API or relay would. Never used outside tests.
import { createPool } from '../db.ts';
import { DealStore } from '../deals/store.ts';
import { makeParties, newDealInput } from '../deals/test-fixtures.ts';
import { createRedis } from '../redis.ts';
import { createLogger } from '../runtime/logger.ts';
import { OutboxRelay } from './relay.ts';

const { DATABASE_URL, TEST_SCHEMA, REDIS_URL, TEST_PREFIX, CRASH_AT } = process.env;
const die = () => process.kill(process.pid, 'SIGKILL');
const pool = createPool({ connectionString: DATABASE_URL as string, schema: TEST_SCHEMA as string });

if (CRASH_AT === 'after-commit') {
  const store = new DealStore({ pool });
  const { seller } = await makeParties(pool);
  const { deal } = await store.create(newDealInput(seller.id));
  console.log(deal.id);
  die();
} else {
  const redis = createRedis(REDIS_URL as string, 'producer', 'crash-fixture');
  await redis.connect();
  const relay = new OutboxRelay({
    pool,
    redis,
    prefix: TEST_PREFIX as string,
    logger: createLogger('crash-fixture', 'silent'),
    hooks: CRASH_AT === 'before-deliver' ? { beforeDeliver: die } : { afterDeliver: die },
  });
  await relay.drainOnce();
}
