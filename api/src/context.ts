import type { ApiConfig, AssetRegistry } from '@amanat/core';
import type { DealStore, Logger, Pool } from '@amanat/platform';
import type { Redis } from 'ioredis';
import type { StaffIds } from './auth/authenticate.ts';
import type { SessionStore } from './auth/sessions.ts';
import type { DealReadCache } from './deals/read-cache.ts';

/** Everything a route module may use; built once per process in server.ts. */
export interface ApiContext {
  config: ApiConfig;
  logger: Logger;
  pool: Pool;
  /** Commands (fail fast: the API never queues commands while Redis is away). */
  redis: Redis;
  registry: AssetRegistry;
  store: DealStore;
  sessions: SessionStore;
  staff: StaffIds;
  /** HMAC key for Telegram init data, derived once from the bot token. */
  telegramSecretKey: Buffer;
  deriveDepositAddress: (index: bigint) => string;
  /** What GET /api/deals/:id reads through (see read-cache.ts). */
  dealReads: DealReadCache;
}
