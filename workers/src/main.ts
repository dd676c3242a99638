import {
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

const { config, signingKey, registry } = startupOrExit(() => {
  const cfg: WorkersConfig = loadConfig('workers', workersConfigSchema, process.env);
  return {
    config: cfg,
    registry: registryFromConfig('workers', cfg),
    signingKey: parseSigningKey(cfg.CHECKPOINT_SIGNING_KEY),
  };
});

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

const relay = new OutboxRelay({
  pool,
  redis: producer,
  prefix: config.REDIS_PREFIX,
  logger,
  subscriber: wakeSubscriber,
  pollMs: config.OUTBOX_POLL_MS,
});
const checkpoints = new CheckpointWriter({
  pool,
  key: signingKey,
  file: config.CHECKPOINT_FILE,
  intervalSec: config.CHECKPOINT_INTERVAL_SEC,
  logger,
});

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

const deadlineHandlers = createDeadlineHandlers({ store, logger });
checkHandlers('deadlines', deadlineHandlers);
workers.push(new Worker(QUEUES.deadlines, dispatch(deadlineHandlers), workerOptions));

const maintenanceDeps = { pool, redis: producer, prefix: config.REDIS_PREFIX, registry, logger };
const maintenance = createMaintenanceHandlers({
  ...maintenanceDeps,
  intervalSec: config.MAINTENANCE_INTERVAL_SEC,
});
checkHandlers('maintenance', maintenance.handlers);
workers.push(new Worker(QUEUES.maintenance, dispatch(maintenance.handlers), workerOptions));
/**
 * The watch sets and the maintenance schedule live in Redis. They are rebuilt at start and again whenever
 * the connection comes back, since a Redis that restarted empty has lost both and nothing else would
 * bring them back.
 */
async function restoreRedisState(maintenanceQueue: Queue): Promise<void> {
  await runWatchSetRebuild(maintenanceDeps);
  await scheduleMaintenance(maintenanceQueue, config.MAINTENANCE_INTERVAL_SEC);
}

let mirror: MongoMirror | null = null;
if (config.STORAGE_MODE === 'dual' && config.MONGO_URL) {
  mirror = await MongoMirror.connect(config.MONGO_URL, config.MONGO_DB);
  const writer = new MirrorWriter({ pool, mirror });
  const handlers: Record<string, JobHandler> = {
    [JOBS.mirror[0]]: (job) => writer.handle(mirrorJobSchema.parse(job.data)),
  };
  checkHandlers('mirror', handlers);
  workers.push(new Worker(QUEUES.mirror, dispatch(handlers), workerOptions));
}
const notifications = startNotificationsWorker({
  pool,
  registry,
  config,
  logger,
  connection: workerConnection,
  producer,
  prefix: config.REDIS_PREFIX,
  workerOptions,
});
workers.push(notifications.worker);

const llm = await startLlmWorker({
  pool,
  registry,
  config,
  logger,
  connection: workerConnection,
  publisher: producer,
  prefix: config.REDIS_PREFIX,
  workerOptions,
});
for (const w of workers)
  w.on('failed', (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err }, 'job failed'));

await connectRedis(producer);
const maintenanceQueue = new Queue(QUEUES.maintenance, { connection: producer, prefix: keys.bullPrefix });
maintenanceQueue.on('error', (err) => logger.warn({ err }, 'maintenance queue connection error'));
await restoreRedisState(maintenanceQueue);
producer.on('ready', () => {
  restoreRedisState(maintenanceQueue).catch((err) =>
    logger.error({ err }, 'could not restore the watch sets and schedules'),
  );
});
await relay.start();
checkpoints.start();
const health = await startHealthServer({
  port: config.WORKERS_HEALTH_PORT,
  checks: {
    postgres: async () => void (await pool.query('SELECT 1')),
    redis: async () => void (await producer.ping()),
  },
});
logger.info(
  {
    healthPort: config.WORKERS_HEALTH_PORT,
    storageMode: config.STORAGE_MODE,
    queues: workers.map((w) => w.name),
  },
  'workers started',
);

onShutdown(logger, [
  ['workers', () => Promise.all(workers.map((w) => w.close()))],
  ['llm', () => llm.close()],
  ['notifications', () => notifications.close()],
  ['maintenance', async () => Promise.all([maintenance.close(), maintenanceQueue.close()])],
  ['outbox relay', () => relay.stop()],
  ['checkpoints', () => checkpoints.stop()],
  ['health', () => new Promise((resolve) => health.close(resolve))],
  ['mirror', async () => mirror?.close()],
  ['postgres', () => pool.end()],
  ['redis', async () => Promise.all([producer.quit(), workerConnection.quit(), wakeSubscriber.quit()])],
]);
