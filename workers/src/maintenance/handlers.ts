import { type AssetRegistry, JOBS, maintenanceJobSchema, QUEUES, redisKeys } from '@amanat/core';
import {
  type DealStore,
  type Logger,
  type Pool,
  rebuildWatchSets,
  type WatchSetRebuildResult,
} from '@amanat/platform';
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PublicClient } from 'viem';
import type { JobHandler } from '../handlers.ts';
import { type ReconcileDeps, reconcileBalances, registryChainClients } from '../payouts/reconcile.ts';
import { recheckPayments } from './recheck-payments.ts';
import { type SweepReport, sweepDeadlines } from './sweep-deadlines.ts';

export interface WatchSetRebuildDeps {
  pool: Pool;
  redis: Redis;
  prefix: string;
  registry: AssetRegistry;
  logger: Logger;
}

/** Rebuilds every active chain's watch sets from PostgreSQL; the workers also run this once at start. */
export async function runWatchSetRebuild(deps: WatchSetRebuildDeps): Promise<WatchSetRebuildResult> {
  const chainIds = deps.registry.activeChains().map((c) => c.chainId);
  const result = await rebuildWatchSets({ db: deps.pool, redis: deps.redis, prefix: deps.prefix, chainIds });
  deps.logger.info({ ...result, chainIds }, 'watch sets rebuilt from PostgreSQL');
  return result;
}

export interface MaintenanceDeps extends WatchSetRebuildDeps {
  /** The maintenance interval: deadlines due within two of them are swept, so a lost one fires on time. */
  intervalSec: number;
  /** Flags a deal whose deposit address drifted from the ledger; without it reconciliation cannot run. */
  store?: DealStore;
  /** RPC clients for balance reads; by default one per active chain, over its registry RPC URLs. */
  chainFor?: (chainId: number) => PublicClient | null;
  /** Reconciliation tuning (tolerance, page size, settle delay…); the defaults suit production. */
  reconcile?: Partial<
    Pick<ReconcileDeps, 'tolerance' | 'pageSize' | 'recentMs' | 'settleMs' | 'graceMs' | 'concurrency'>
  >;
}

export interface MaintenanceHandlers {
  handlers: Record<string, JobHandler>;
  /** Closes the queue handles the sweepers add jobs through (not the Redis connection). */
  close(): Promise<void>;
}

const parseJob = (job: Job): void => {
  maintenanceJobSchema.parse(job.data);
};

/**
 * Handlers for the `maintenance` queue: the deadline sweeper, the watch-set rebuild, payment rechecks and
 * the reconciliation of deposit addresses' balances with the ledger.
 */
export function createMaintenanceHandlers(deps: MaintenanceDeps): MaintenanceHandlers {
  const queueOpts = { connection: deps.redis, prefix: redisKeys(deps.prefix).bullPrefix };
  const deadlines = new Queue(QUEUES.deadlines, queueOpts);
  const payments = new Queue(QUEUES.payments, queueOpts);
  const sweep: JobHandler = async (job): Promise<SweepReport> => {
    parseJob(job);
    return sweepDeadlines({
      db: deps.pool,
      deadlines,
      logger: deps.logger,
      horizonMs: 2 * deps.intervalSec * 1000,
    });
  };
  const rebuild: JobHandler = async (job): Promise<WatchSetRebuildResult> => {
    parseJob(job);
    return runWatchSetRebuild(deps);
  };
  const recheck: JobHandler = async (job) => {
    parseJob(job);
    return recheckPayments({ pool: deps.pool, payments, logger: deps.logger, intervalSec: deps.intervalSec });
  };
  const chainFor = deps.chainFor ?? registryChainClients(deps.registry);
  const reconcile: JobHandler = async (job) => {
    parseJob(job);
    if (!deps.store)
      throw new Error('reconcile-balances: the maintenance handlers were created without a DealStore');
    return reconcileBalances({
      pool: deps.pool,
      registry: deps.registry,
      chainFor,
      store: deps.store,
      logger: deps.logger,
      ...deps.reconcile,
    });
  };
  const handlers: Record<(typeof JOBS.maintenance)[number], JobHandler> = {
    'sweep-deadlines': sweep,
    'rebuild-watch-sets': rebuild,
    'recheck-payments': recheck,
    'reconcile-balances': reconcile,
  };
  return { handlers, close: async () => void (await Promise.all([deadlines.close(), payments.close()])) };
}

export type MaintenanceJob = (typeof JOBS.maintenance)[number];

/**
 * Runs the maintenance jobs every `intervalSec` (or the job's own interval in `intervals`, e.g.
 * RECONCILE_INTERVAL_SEC for 'reconcile-balances') through BullMQ job schedulers: however many workers
 * processes run, each job runs once per interval. Upserting is idempotent, so every process may call it
 * at start; a changed interval replaces the old schedule.
 */
export async function scheduleMaintenance(
  queue: Queue,
  intervalSec: number,
  intervals: Partial<Record<MaintenanceJob, number>> = {},
): Promise<void> {
  for (const name of JOBS.maintenance) {
    await queue.upsertJobScheduler(
      name,
      { every: (intervals[name] ?? intervalSec) * 1000 },
      {
        name,
        data: {},
        // The next run repairs what this one could not, so a failure is kept for bull-board, not retried.
        opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } },
      },
    );
  }
}
