import { type AssetRegistry, type Chain, QUEUES, redisKeys } from '@amanat/core';
import { type DealStore, type Logger, type Pool, ScannerView } from '@amanat/platform';
import { Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Address, createPublicClient, defineChain, fallback, http, type PublicClient } from 'viem';
import { checkHandlers, dispatch } from '../handlers.ts';
import { createPayoutHandlers } from './execute.ts';
import type { PayoutKeys } from './keys.ts';
import type { SendContext } from './send.ts';

/**
 * Few at once: a run is short (it broadcasts and leaves; confirmations are waited for as a delayed job).
 */
export const PAYOUTS_CONCURRENCY = 4;
/**
 * The signer's own PostgreSQL pool. A run holds one connection for its per-deal lock for its whole length
 * and needs more meanwhile (the signing transaction, the deal change, plain reads): with a pool shared by
 * other work, or smaller than this, every run could hold a lock connection and wait for another forever.
 */
export const PAYOUTS_POOL_SIZE = PAYOUTS_CONCURRENCY * 3 + 2;

export interface PayoutsWorkerDeps {
  /** The signer's own pool, at least PAYOUTS_POOL_SIZE connections; `store` must use the same one. */
  pool: Pool;
  store: DealStore;
  registry: AssetRegistry;
  /** Loaded and checked against DEPOSIT_XPUB at start (loadPayoutKeys). */
  keys: PayoutKeys;
  feeAddress: Address | null;
  logger: Logger;
  /** The worker's Redis connection (maxRetriesPerRequest: null); also where the scanner's view is read. */
  connection: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  workerOptions?: Partial<WorkerOptions>;
  concurrency?: number;
  /** How long a job waiting for confirmations or a gas top-up is delayed between looks. */
  recheckMs?: number;
  /** PAYOUT_APPROVAL_THRESHOLD: legs above it (per asset) wait for an operator's approval. */
  approvalThresholds?: ReadonlyMap<string, bigint>;
  /** Test seams of sendOnce (see SendContext.hooks). */
  hooks?: SendContext['hooks'];
  /** PAYOUT_MAX_FEE_PER_GAS_GWEI in wei: replacements of stuck transactions never bid above it. */
  maxFeePerGas?: bigint;
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
  const scannerView = new ScannerView(deps.connection, deps.prefix);
  for (const chain of deps.registry.activeChains()) {
    contexts.set(chain.chainId, {
      pool: deps.pool,
      chain: chainClient(chain),
      confirmations: chain.confirmations,
      scannerView,
      logger,
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
      ...(deps.maxFeePerGas !== undefined ? { maxFeePerGas: deps.maxFeePerGas } : {}),
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
    ...(deps.approvalThresholds ? { approvalThresholds: deps.approvalThresholds } : {}),
  });
  checkHandlers('payouts', handlers);
  const worker = new Worker(QUEUES.payouts, dispatch(handlers), {
    ...deps.workerOptions,
    connection: deps.connection,
    prefix: redisKeys(deps.prefix).bullPrefix,
    concurrency: deps.concurrency ?? PAYOUTS_CONCURRENCY,
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
