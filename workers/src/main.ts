import {
  hasRole,
  JOBS,
  loadConfig,
  mirrorJobSchema,
  parseSigningKey,
  QUEUES,
  redisKeys,
  registryFromConfig,
  type WorkersConfig,
  workersConfigSchema,
} from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createPool,
  createRedis,
  DealStore,
  MirrorWriter,
  MongoMirror,
  OutboxRelay,
  onShutdown,
  outboxWaker,
  startHealthServer,
  startupOrExit,
} from '@amanat/platform';
import { Queue, Worker } from 'bullmq';
import { parseGwei } from 'viem';
import { CheckpointWriter } from './checkpoint-writer.ts';
import { createDeadlineHandlers } from './deadlines/handlers.ts';
import { checkHandlers, dispatch, type JobHandler } from './handlers.ts';
import { startLlmWorker } from './llm/start.ts';
import {
  createMaintenanceHandlers,
  runWatchSetRebuild,
  scheduleMaintenance,
} from './maintenance/handlers.ts';
import { startNotificationsWorker } from './notifications/start.ts';
import { createPaymentHandlers } from './payments/verify-payment.ts';
import { loadPayoutKeys } from './payouts/keys.ts';
import { PAYOUTS_POOL_SIZE, startPayoutsWorker } from './payouts/start.ts';

const { config, signingKey, registry, payoutKeys } = startupOrExit(() => {
  const cfg: WorkersConfig = loadConfig('workers', workersConfigSchema, process.env);
  return {
    config: cfg,
    registry: registryFromConfig('workers', cfg),
    signingKey: parseSigningKey(cfg.CHECKPOINT_SIGNING_KEY),
    // Only the payout signer reads the spending keys; it refuses to start if they are not DEPOSIT_XPUB's.
    payoutKeys: hasRole(cfg, 'payouts') ? loadPayoutKeys(cfg) : null,
  };
});
/** Each part of this process runs only with its role (WORKERS_ROLES, all by default). */
const runs = (role: Parameters<typeof hasRole>[1]) => hasRole(config, role);

const logger = createLogger('workers', config.LOG_LEVEL);
const pool = createPool({
  connectionString: config.DATABASE_URL,
  schema: config.DATABASE_SCHEMA,
  applicationName: 'amanat-workers',
});
const producer = createRedis(config.REDIS_URL, 'producer', 'workers-producer');
const workerConnection = createRedis(config.REDIS_URL, 'worker', 'workers');
const keys = redisKeys(config.REDIS_PREFIX);
const wakeSubscriber = createRedis(config.REDIS_URL, 'worker', 'workers-outbox-wake');

const relay = runs('outbox')
  ? new OutboxRelay({
      pool,
      redis: producer,
      prefix: config.REDIS_PREFIX,
      logger,
      subscriber: wakeSubscriber,
      pollMs: config.OUTBOX_POLL_MS,
    })
  : null;
const checkpoints = runs('checkpoints')
  ? new CheckpointWriter({
      pool,
      key: signingKey,
      file: config.CHECKPOINT_FILE,
      intervalSec: config.CHECKPOINT_INTERVAL_SEC,
      logger,
    })
  : null;

const store = new DealStore({
  pool,
  storageMode: config.STORAGE_MODE,
  onCommitted: outboxWaker(producer, config.REDIS_PREFIX),
});

// A killed worker's jobs go back to the queue within seconds (BullMQ's defaults take about a minute);
// the lock is renewed every half period, so only a process stalled this long loses a running job.
const workerOptions = {
  connection: workerConnection,
  prefix: keys.bullPrefix,
  lockDuration: 15_000,
  stalledInterval: 5_000,
};

const workers: Worker[] = [];
if (runs('payments')) {
  const paymentHandlers = createPaymentHandlers({
    store,
    registry,
    denylist: config.PAYMENT_SENDER_DENYLIST,
    logger,
  });
  checkHandlers('payments', paymentHandlers);
  workers.push(
    new Worker(QUEUES.payments, dispatch(paymentHandlers), {
      ...workerOptions,
      concurrency: config.PAYMENTS_CONCURRENCY,
    }),
  );
}

if (runs('deadlines')) {
  const deadlineHandlers = createDeadlineHandlers({ store, logger });
  checkHandlers('deadlines', deadlineHandlers);
  workers.push(new Worker(QUEUES.deadlines, dispatch(deadlineHandlers), workerOptions));
}

const maintenanceDeps = { pool, redis: producer, prefix: config.REDIS_PREFIX, registry, logger };
const maintenance = runs('maintenance')
  ? createMaintenanceHandlers({
      ...maintenanceDeps,
      // The balance reconciliation flags drifted deals through the store.
      store,
      intervalSec: config.MAINTENANCE_INTERVAL_SEC,
    })
  : null;
if (maintenance) {
  checkHandlers('maintenance', maintenance.handlers);
  workers.push(new Worker(QUEUES.maintenance, dispatch(maintenance.handlers), workerOptions));
}
/**
 * The watch sets and the maintenance schedule live in Redis. They are rebuilt at start and again whenever
 * the connection comes back, since a Redis that restarted empty has lost both and nothing else would
 * bring them back.
 */
async function restoreRedisState(maintenanceQueue: Queue): Promise<void> {
  await runWatchSetRebuild(maintenanceDeps);
  await scheduleMaintenance(maintenanceQueue, config.MAINTENANCE_INTERVAL_SEC, {
    'reconcile-balances': config.RECONCILE_INTERVAL_SEC,
  });
}

let mirror: MongoMirror | null = null;
if (runs('mirror') && config.STORAGE_MODE === 'dual' && config.MONGO_URL) {
  mirror = await MongoMirror.connect(config.MONGO_URL, config.MONGO_DB);
  const writer = new MirrorWriter({ pool, mirror });
  const handlers: Record<string, JobHandler> = {
    [JOBS.mirror[0]]: (job) => writer.handle(mirrorJobSchema.parse(job.data)),
  };
  checkHandlers('mirror', handlers);
  workers.push(new Worker(QUEUES.mirror, dispatch(handlers), workerOptions));
}
const notifications = runs('notifications')
  ? startNotificationsWorker({
      pool,
      registry,
      config,
      logger,
      connection: workerConnection,
      producer,
      prefix: config.REDIS_PREFIX,
      workerOptions,
    })
  : null;
if (notifications) workers.push(notifications.worker);

const llm = runs('llm')
  ? await startLlmWorker({
      pool,
      registry,
      config,
      logger,
      connection: workerConnection,
      publisher: producer,
      prefix: config.REDIS_PREFIX,
      workerOptions,
    })
  : null;

// The signer gets a pool (and a store on it) of its own, sized for its runs: see PAYOUTS_POOL_SIZE.
const payoutsPool = payoutKeys
  ? createPool({
      connectionString: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      applicationName: 'amanat-payouts',
      max: PAYOUTS_POOL_SIZE,
    })
  : null;
const payouts =
  payoutKeys && payoutsPool
    ? startPayoutsWorker({
        pool: payoutsPool,
        store: new DealStore({
          pool: payoutsPool,
          storageMode: config.STORAGE_MODE,
          onCommitted: outboxWaker(producer, config.REDIS_PREFIX),
        }),
        registry,
        keys: payoutKeys,
        feeAddress: config.FEE_ADDRESS ?? null,
        maxFeePerGas: parseGwei(config.PAYOUT_MAX_FEE_PER_GAS_GWEI.toFixed(9)),
        ...(config.PAYOUT_APPROVAL_THRESHOLD ? { approvalThresholds: config.PAYOUT_APPROVAL_THRESHOLD } : {}),
        logger,
        connection: workerConnection,
        prefix: config.REDIS_PREFIX,
        workerOptions,
      })
    : null;
if (payouts) workers.push(payouts.worker);
for (const w of workers)
  w.on('failed', (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err }, 'job failed'));

await connectRedis(producer);
const maintenanceQueue = maintenance
  ? new Queue(QUEUES.maintenance, { connection: producer, prefix: keys.bullPrefix })
  : null;
if (maintenanceQueue) {
  maintenanceQueue.on('error', (err) => logger.warn({ err }, 'maintenance queue connection error'));
  await restoreRedisState(maintenanceQueue);
  producer.on('ready', () => {
    restoreRedisState(maintenanceQueue).catch((err) =>
      logger.error({ err }, 'could not restore the watch sets and schedules'),
    );
  });
}
await relay?.start();
checkpoints?.start();
const health = await startHealthServer({
  port: config.WORKERS_HEALTH_PORT,
  checks: {
    postgres: async () => void (await pool.query('SELECT 1')),
    redis: async () => void (await producer.ping()),
    // The payout signer is ready once its worker takes jobs (its keys were checked before it started).
    ...(payouts
      ? {
          payouts: async () => {
            if (!payouts.worker.isRunning()) throw new Error('the payouts worker is not running');
          },
        }
      : {}),
  },
});
logger.info(
  {
    healthPort: config.WORKERS_HEALTH_PORT,
    storageMode: config.STORAGE_MODE,
    roles: [...config.WORKERS_ROLES],
    queues: workers.map((w) => w.name),
  },
  'workers started',
);

onShutdown(logger, [
  ['workers', () => Promise.all(workers.map((w) => w.close()))],
  ['llm', async () => llm?.close()],
  ['notifications', async () => notifications?.close()],
  ['payouts', async () => payouts?.close()],
  ['maintenance', async () => Promise.all([maintenance?.close(), maintenanceQueue?.close()])],
  ['outbox relay', async () => relay?.stop()],
  ['checkpoints', async () => checkpoints?.stop()],
  ['health', () => new Promise((resolve) => health.close(resolve))],
  ['mirror', async () => mirror?.close()],
  ['postgres', () => Promise.all([pool.end(), payoutsPool?.end()])],
  ['redis', async () => Promise.all([producer.quit(), workerConnection.quit(), wakeSubscriber.quit()])],
]);
