import { type AssetRegistry, type Chain, QUEUES, redisKeys } from '@amanat/core';
import type { DealStore, Logger, Pool } from '@amanat/platform';
import { Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Address, createPublicClient, defineChain, fallback, http, type PublicClient } from 'viem';
import { checkHandlers, dispatch } from '../handlers.ts';
import { createPayoutHandlers } from './execute.ts';
import type { PayoutKeys } from './keys.ts';
import type { SendContext } from './send.ts';

/**
 * Few at once: each job holds a database connection for its per-deal lock while it runs, and a run is
 * short (it broadcasts and leaves; confirmations are waited for as a delayed job).
 */
const DEFAULT_CONCURRENCY = 4;

export interface PayoutsWorkerDeps {
  pool: Pool;
  store: DealStore;
  registry: AssetRegistry;
  /** Loaded and checked against DEPOSIT_XPUB at start (loadPayoutKeys). */
  keys: PayoutKeys;
  feeAddress: Address | null;
  logger: Logger;
  /** The worker's Redis connection (maxRetriesPerRequest: null). */
  connection: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  workerOptions?: Partial<WorkerOptions>;
  concurrency?: number;
  /** How long a job waiting for confirmations or a gas top-up is delayed between looks. */
  recheckMs?: number;
  /** Test seams of sendOnce (see SendContext.hooks). */
  hooks?: SendContext['hooks'];
}

/** A client for one chain over all its RPC endpoints, named so viem can estimate EIP-1559 fees for it. */
export function chainClient(chain: Chain): PublicClient {
  const transports = chain.rpcUrls.map((url) => http(url, { timeout: 15_000, retryCount: 1 }));
  return createPublicClient({
    chain: defineChain({
      id: chain.chainId,
      name: chain.name,
      nativeCurrency: { name: chain.nativeSymbol, symbol: chain.nativeSymbol, decimals: 18 },
      rpcUrls: { default: { http: chain.rpcUrls } },
    }),
    transport: transports.length === 1 ? (transports[0] as ReturnType<typeof http>) : fallback(transports),
  }) as PublicClient;
}

/**
 * Starts the `payouts` worker: the payout signer. Only a workers process with the payouts role runs it,
 * and only that process holds the spending keys.
 */
export function startPayoutsWorker(deps: PayoutsWorkerDeps): { worker: Worker; close(): Promise<void> } {
  const { logger } = deps;
  const contexts = new Map<number, SendContext>();
  for (const chain of deps.registry.activeChains()) {
    contexts.set(chain.chainId, {
      pool: deps.pool,
      chain: chainClient(chain),
      confirmations: chain.confirmations,
      logger,
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
    });
  }
  if (!deps.feeAddress) logger.warn('FEE_ADDRESS is not set: fee legs fail and flag their deal');
  const handlers = createPayoutHandlers({
    pool: deps.pool,
    store: deps.store,
    keys: deps.keys,
    feeAddress: deps.feeAddress,
    sendContext: (chainId) => contexts.get(chainId) ?? null,
    logger,
    ...(deps.recheckMs !== undefined ? { recheckMs: deps.recheckMs } : {}),
  });
  checkHandlers('payouts', handlers);
  const worker = new Worker(QUEUES.payouts, dispatch(handlers), {
    ...deps.workerOptions,
    connection: deps.connection,
    prefix: redisKeys(deps.prefix).bullPrefix,
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
  });
  worker.on('error', (err) => logger.warn({ err }, 'payouts worker error'));
  logger.info(
    {
      gasTank: deps.keys.gasTank.address,
      feeAddress: deps.feeAddress,
      chains: [...contexts.keys()],
    },
    'payout signer started',
  );
  return { worker, close: () => worker.close() };
}
