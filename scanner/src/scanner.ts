// A scanner process's moving parts: per chain, a scan queue with a job scheduler and a worker, and the
// callbacks worker. Any number of processes may run this: the queue runs one tick per chain at a time.
import {
  type AssetRegistry,
  type Chain,
  JOBS,
  QUEUES,
  redisKeys,
  type ScannerConfig,
  scanJobSchema,
  scanQueueName,
} from '@amanat/core';
import { connectRedis, createRedis, type Logger, type ReadinessCheck } from '@amanat/platform';
import { type Job, Queue, Worker } from 'bullmq';
import { startCallbackWorker } from './delivery/worker.ts';
import { type ChainRpcHandle, createChainRpc } from './rpc/index.ts';
import type { ChainRpc } from './rpc/types.ts';
import { ScanStateStore } from './scan/store.ts';
import { type ScanHooks, scanTick, type TickReport } from './scan/tick.ts';

/** Short, so a killed scanner's tick moves to another process within seconds. */
export const SCAN_LOCK_DURATION_MS = 10_000;
export const SCAN_STALLED_INTERVAL_MS = 5_000;

export interface StartScannerOptions {
  config: ScannerConfig;
  registry: AssetRegistry;
  logger: Logger;
  /** Chain readers; by default one per active chain from its RPC URLs. */
  rpcFor?: (chain: Chain) => ChainRpc;
  /** Per-tick tuning (see ScanDeps). */
  tick?: { budgetMs?: number; blocksPerStep?: number; coldBlocksPerStep?: number };
  /** Run the callbacks delivery worker in this process too (default true). */
  deliver?: boolean;
  deliveryConcurrency?: number;
  /** Called after every tick this process ran (tests and benchmarks). */
  onTick?: (report: TickReport) => void;
  hooks?: ScanHooks;
  /** A name for this process's workers and connections. */
  name?: string;
  /** Scan job lock and stalled-check period (defaults SCAN_LOCK_DURATION_MS, SCAN_STALLED_INTERVAL_MS). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface ChainStats {
  chainId: number;
  /** Ticks this process ran, and how many of them found nothing new. */
  ticks: number;
  idleTicks: number;
  failedTicks: number;
  blocksScanned: number;
  reorgs: number;
  events: { detected: number; confirmed: number; reorged: number };
  lastTick: TickReport | null;
  lastError: string | null;
  rpc: { rpcCalls: number; httpRequests: number; logRange: bigint };
}

export interface ScannerHandle {
  chains: readonly number[];
  /** Counters of this process, per chain. */
  stats(): Record<number, ChainStats>;
  /** Readiness checks for the health server: Redis, and per chain whether ticks are running. */
  checks: Record<string, ReadinessCheck>;
  /**
   * Closes the workers (an in-flight tick finishes first), the queues and the connections. `force`
   * abandons in-flight ticks instead, as a crash would: their locks lapse and another scanner redoes them.
   */
  stop(opts?: { force?: boolean }): Promise<void>;
}

interface ChainRuntime {
  chain: Chain;
  rpc: ChainRpc;
  /** Readers this process created are closed with it; ones given through rpcFor belong to the caller. */
  closeRpc: (() => void) | null;
  queue: Queue;
  worker: Worker;
  stats: ChainStats;
}

export async function startScanner(opts: StartScannerOptions): Promise<ScannerHandle> {
  const { config, registry, logger } = opts;
  const name = opts.name ?? 'scanner';
  const bullPrefix = redisKeys(config.REDIS_PREFIX).bullPrefix;
  const chains = registry.activeChains();

  const producer = await connectRedis(createRedis(config.REDIS_URL, 'producer', `${name}-producer`));
  const workerConnection = createRedis(config.REDIS_URL, 'worker', `${name}-worker`);
  const callbacks = new Queue(QUEUES.callbacks, { connection: producer, prefix: bullPrefix });
  const runtimes: ChainRuntime[] = [];
  let delivery: Worker | null = null;

  try {
    for (const chain of chains) {
      const given = opts.rpcFor?.(chain);
      const owned = given
        ? null
        : createChainRpc({
            chainId: chain.chainId,
            urls: chain.rpcUrls,
            logger: logger.child({ chainId: chain.chainId }),
          });
      const rpc: ChainRpc = given ?? (owned as ChainRpcHandle);
      const queue = new Queue(scanQueueName(chain.chainId), { connection: producer, prefix: bullPrefix });
      await scheduleScans(queue, chain.chainId, config.SCAN_INTERVAL_MS);
      const stats: ChainStats = {
        chainId: chain.chainId,
        ticks: 0,
        idleTicks: 0,
        failedTicks: 0,
        blocksScanned: 0,
        reorgs: 0,
        events: { detected: 0, confirmed: 0, reorged: 0 },
        lastTick: null,
        lastError: null,
        rpc: rpc.stats(),
      };
      const startBlock = config.SCAN_START_BLOCKS?.[String(chain.chainId)];
      const runTick = async (job: Job) => {
        if (job.name !== JOBS.scan[0]) throw new Error(`no handler for job '${job.name}'`);
        const { chainId } = scanJobSchema.parse(job.data);
        if (chainId !== chain.chainId) throw new Error(`scan job for chain ${chainId} in ${job.queueName}`);
        try {
          const report = await scanTick({
            chain,
            rpc,
            redis: producer,
            prefix: config.REDIS_PREFIX,
            callbacks,
            checkpointDir: config.SCAN_CHECKPOINT_DIR,
            startBlock: startBlock === undefined ? undefined : BigInt(startBlock),
            coldEveryTicks: config.SCAN_COLD_EVERY_TICKS,
            logger,
            ...opts.tick,
            ...(opts.hooks ? { hooks: opts.hooks } : {}),
          });
          record(stats, report);
          logTick(logger, report);
          opts.onTick?.(report);
        } catch (err) {
          stats.failedTicks++;
          stats.lastError = err instanceof Error ? err.message : String(err);
          throw err;
        } finally {
          stats.rpc = rpc.stats();
        }
      };
      const worker = new Worker(scanQueueName(chain.chainId), runTick, {
        name,
        connection: workerConnection,
        prefix: bullPrefix,
        concurrency: 1,
        lockDuration: opts.lockDurationMs ?? SCAN_LOCK_DURATION_MS,
        stalledInterval: opts.stalledIntervalMs ?? SCAN_STALLED_INTERVAL_MS,
      });
      worker.on('failed', (job, err) =>
        logger.warn({ chainId: chain.chainId, jobId: job?.id, err: err.message }, 'scan tick failed'),
      );
      worker.on('error', (err) => logger.error({ chainId: chain.chainId, err }, 'scan worker error'));
      runtimes.push({ chain, rpc, closeRpc: owned ? () => owned.close() : null, queue, worker, stats });
    }
    if (opts.deliver ?? true) {
      delivery = startCallbackWorker({
        connection: workerConnection,
        prefix: config.REDIS_PREFIX,
        target: {
          url: config.PAYMENT_CALLBACK_URL,
          secret: config.PAYMENT_WEBHOOK_SECRET,
          ...(config.PAYMENT_WEBHOOK_SECRET_NEXT ? { nextSecret: config.PAYMENT_WEBHOOK_SECRET_NEXT } : {}),
        },
        ...(opts.deliveryConcurrency ? { concurrency: opts.deliveryConcurrency } : {}),
        logger,
      });
    }
  } catch (err) {
    await closeAll(runtimes, delivery, callbacks, producer, workerConnection);
    throw err;
  }

  // The schedulers live in Redis: a Redis that comes back empty would never tick again without this.
  producer.on('ready', () => {
    for (const r of runtimes) {
      scheduleScans(r.queue, r.chain.chainId, config.SCAN_INTERVAL_MS).catch((err: unknown) =>
        logger.error({ chainId: r.chain.chainId, err }, 'could not restore the scan schedule'),
      );
    }
  });

  // A chain is ready while some scanner (this process or another) finished a tick recently.
  const staleMs = Math.max(60_000, 20 * config.SCAN_INTERVAL_MS);
  const watchdogStaleMs = Math.max(5_000, 10 * config.SCAN_INTERVAL_MS);
  const checks: Record<string, ReadinessCheck> = { redis: async () => void (await producer.ping()) };
  for (const { chain } of runtimes) {
    const store = new ScanStateStore(producer, config.REDIS_PREFIX, chain.chainId);
    checks[`scan-${chain.chainId}`] = async () => {
      const progress = await store.progress();
      if (progress.at === null || Date.now() - progress.at > staleMs) {
        throw new Error(`chain ${chain.chainId}: no scan tick finished in ${staleMs} ms`);
      }
    };
  }

  // A watchdog for the same loss: a Redis that restarted while a tick was running can leave the scheduler
  // without its next job (BullMQ then reports "Missing key for job … moveToFinished"), and no 'ready'
  // event follows. A chain whose last finished tick is this old gets its schedule upserted again.
  const watchdog = setInterval(() => {
    for (const r of runtimes) {
      new ScanStateStore(producer, config.REDIS_PREFIX, r.chain.chainId)
        .progress()
        .then(async (progress) => {
          if (progress.at !== null && Date.now() - progress.at <= watchdogStaleMs) return;
          logger.warn(
            { chainId: r.chain.chainId, lastTickAt: progress.at },
            'no scan tick lately: restoring the schedule',
          );
          await scheduleScans(r.queue, r.chain.chainId, config.SCAN_INTERVAL_MS);
        })
        .catch((err: unknown) =>
          logger.warn({ chainId: r.chain.chainId, err }, 'scan watchdog check failed'),
        );
    }
  }, watchdogStaleMs);
  watchdog.unref();

  let stopping: Promise<void> | null = null;
  return {
    chains: runtimes.map((r) => r.chain.chainId),
    stats: () =>
      Object.fromEntries(runtimes.map((r) => [r.chain.chainId, { ...r.stats, rpc: r.rpc.stats() }])),
    checks,
    stop: (stopOpts) => {
      clearInterval(watchdog);
      stopping ??= closeAll(runtimes, delivery, callbacks, producer, workerConnection, stopOpts?.force);
      return stopping;
    },
  };
}

/** One tick per chain at a time, whichever scanner runs it, every interval. Idempotent. */
async function scheduleScans(queue: Queue, chainId: number, everyMs: number): Promise<void> {
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(
    scanQueueName(chainId),
    { every: everyMs },
    {
      name: JOBS.scan[0],
      data: scanJobSchema.parse({ chainId }),
      opts: { removeOnComplete: true, removeOnFail: { count: 100 } },
    },
  );
}

function record(stats: ChainStats, report: TickReport): void {
  stats.ticks++;
  if (report.idle) stats.idleTicks++;
  for (const r of report.scanned) stats.blocksScanned += Number(r.toBlock - r.fromBlock + 1n);
  stats.reorgs += report.reorgs;
  stats.events.detected += report.events.detected;
  stats.events.confirmed += report.events.confirmed;
  stats.events.reorged += report.events.reorged;
  stats.lastTick = report;
  stats.lastError = null;
}

function logTick(logger: Logger, report: TickReport): void {
  const fields = {
    chainId: report.chainId,
    tick: report.tick,
    head: String(report.head),
    cursor: String(report.cursor),
    lag: String(report.head - report.cursor),
    blocks: report.scanned.reduce((n, r) => n + Number(r.toBlock - r.fromBlock + 1n), 0),
    coldBlocks: report.cold.reduce((n, r) => n + Number(r.toBlock - r.fromBlock + 1n), 0),
    reorgs: report.reorgs,
    events: report.events,
    outgoing: report.outgoing,
    ms: report.finishedAt - report.startedAt,
  };
  // Routine ticks at the head go to debug; anything an operator may want to see goes to info.
  const notable =
    fields.blocks > 10 ||
    fields.coldBlocks > 0 ||
    report.reorgs > 0 ||
    report.startedFrom !== undefined ||
    report.events.detected + report.events.confirmed + report.events.reorged > 0;
  if (notable) logger.info(fields, 'scan tick');
  else logger.debug(fields, report.idle ? 'scan tick idle' : 'scan tick');
}

async function closeAll(
  runtimes: ChainRuntime[],
  delivery: Worker | null,
  callbacks: Queue,
  producer: ReturnType<typeof createRedis>,
  workerConnection: ReturnType<typeof createRedis>,
  force = false,
): Promise<void> {
  await Promise.all([...runtimes.map((r) => r.worker.close(force)), delivery?.close(force)]);
  await Promise.all([...runtimes.map((r) => r.queue.close()), callbacks.close()]);
  for (const r of runtimes) r.closeRpc?.();
  await Promise.allSettled([producer.quit(), workerConnection.quit()]);
}
