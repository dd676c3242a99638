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
import { Worker } from 'bullmq';
import { CheckpointWriter } from './checkpoint-writer.ts';
import { checkHandlers, dispatch, type JobHandler } from './handlers.ts';
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
    connection: workerConnection,
    prefix: keys.bullPrefix,
    concurrency: config.PAYMENTS_CONCURRENCY,
  }),
);

let mirror: MongoMirror | null = null;
if (config.STORAGE_MODE === 'dual' && config.MONGO_URL) {
  mirror = await MongoMirror.connect(config.MONGO_URL, config.MONGO_DB);
  const writer = new MirrorWriter({ pool, mirror });
  const handlers: Record<string, JobHandler> = {
    [JOBS.mirror[0]]: (job) => writer.handle(mirrorJobSchema.parse(job.data)),
  };
  checkHandlers('mirror', handlers);
  workers.push(
    new Worker(QUEUES.mirror, dispatch(handlers), { connection: workerConnection, prefix: keys.bullPrefix }),
  );
}
for (const w of workers)
  w.on('failed', (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err }, 'job failed'));

await producer.connect();
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
  ['outbox relay', () => relay.stop()],
  ['checkpoints', () => checkpoints.stop()],
  ['health', () => new Promise((resolve) => health.close(resolve))],
  ['mirror', async () => mirror?.close()],
  ['postgres', () => pool.end()],
  ['redis', async () => Promise.all([producer.quit(), workerConnection.quit(), wakeSubscriber.quit()])],
]);
