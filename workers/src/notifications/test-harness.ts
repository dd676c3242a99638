// Shared setup for the notification tests: real PostgreSQL and Redis, the real deal store and outbox relay
// producing events, the real worker, and the Bot API double in place of Telegram.
import {
  createRegistry,
  type DealEvent,
  JOBS,
  notificationJobId,
  QUEUES,
  redisKeys,
  type WorkersConfig,
} from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createRedis,
  DEFAULT_JOB_OPTIONS,
  DealStore,
  OutboxRelay,
} from '@amanat/platform';
import { type Job, Queue } from 'bullmq';
import { startTelegramDouble, type TelegramDouble } from '../../../devstack/telegram-double.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  until,
} from '../../../devstack/testing.ts';
import { BUYER_ADDRESS, makeParties, newDealInput } from '../../../platform/src/deals/test-fixtures.ts';
import { startNotificationsWorker } from './start.ts';

export const APP_ORIGIN = 'https://app.amanat.test';

type NotifyConfig = Pick<
  WorkersConfig,
  | 'TELEGRAM_BOT_TOKEN'
  | 'TELEGRAM_API_ROOT'
  | 'APP_ORIGIN'
  | 'NOTIFY_RATE_PER_SEC'
  | 'NOTIFY_CHAT_INTERVAL_MS'
  | 'OPERATOR_TELEGRAM_IDS'
>;

export interface DeliveryRow {
  event_id: string;
  user_id: string;
  outcome: 'sent' | 'skipped';
  reason: string | null;
  chat_id: string | null;
  telegram_message_id: string | null;
}

export interface OperatorAlertRow {
  seq: number;
  chat_id: string;
  outcome: 'sent' | 'skipped';
  reason: string | null;
  telegram_message_id: string | null;
}

export interface Harness {
  db: TestDatabase;
  redis: TestRedis;
  telegram: TelegramDouble;
  store: DealStore;
  relay: OutboxRelay;
  queue: Queue;
  /** Moves every committed outbox row to Redis (events become notification jobs). */
  drain(): Promise<void>;
  /** The deal's events as the outbox holds them, oldest first. */
  events(dealId: string): Promise<DealEvent[]>;
  /** Job ids of the notifications for a deal's events (one per party per event). */
  jobIds(dealId: string, recipient?: string): Promise<string[]>;
  /** Waits until the job is completed or failed, and returns it. */
  settled(jobId: string): Promise<Job>;
  deliveries(dealId: string): Promise<DeliveryRow[]>;
  /** Ids of the deal's review-alert jobs the outbox holds, oldest first. */
  alertJobIds(dealId: string): Promise<string[]>;
  /** What became of each operator's alert about the deal. */
  operatorAlerts(dealId: string): Promise<OperatorAlertRow[]>;
  close(): Promise<void>;
}

export async function startHarness(over: Partial<NotifyConfig> = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const redis = await createTestRedis();
  const telegram = await startTelegramDouble();
  const store = new DealStore({ pool: db.pool });
  const logger = createLogger('test', 'silent');
  const producer = await connectRedis(createRedis(redis.url, 'producer', 'notify-test-producer'));
  const workerConnection = createRedis(redis.url, 'worker', 'notify-test-worker');
  const relay = new OutboxRelay({ pool: db.pool, redis: producer, prefix: redis.prefix, logger });
  const queue = new Queue(QUEUES.notifications, {
    connection: redis.redis,
    prefix: redisKeys(redis.prefix).bullPrefix,
  });
  const started = startNotificationsWorker({
    pool: db.pool,
    registry: createRegistry(),
    config: {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      APP_ORIGIN,
      NOTIFY_RATE_PER_SEC: 30,
      NOTIFY_CHAT_INTERVAL_MS: 0,
      OPERATOR_TELEGRAM_IDS: new Set<bigint>(),
      ...over,
    },
    logger,
    connection: workerConnection,
    producer,
    prefix: redis.prefix,
    workerOptions: { lockDuration: 15_000, stalledInterval: 5_000 },
  });

  const events = async (dealId: string): Promise<DealEvent[]> => {
    const { rows } = await db.pool.query(
      `SELECT payload FROM outbox WHERE kind = 'deal_event' AND payload->>'dealId' = $1 ORDER BY id`,
      [dealId],
    );
    return rows.map((r) => r.payload);
  };

  return {
    db,
    redis,
    telegram,
    store,
    relay,
    queue,
    drain: async () => {
      while ((await relay.drainOnce()) > 0) {}
    },
    events,
    jobIds: async (dealId, recipient) =>
      (await events(dealId)).flatMap((e) =>
        e.audience
          .filter((u) => recipient === undefined || u === recipient)
          .map((u) => notificationJobId({ eventId: e.id, recipientUserId: u, channel: 'telegram' })),
      ),
    settled: (jobId) =>
      until(`notification job ${jobId} to finish`, async () => {
        // The state first: a job read before it finished would carry no result.
        const state = await queue.getJobState(jobId);
        return (state === 'completed' || state === 'failed') && queue.getJob(jobId);
      }),
    deliveries: async (dealId) =>
      (
        await db.pool.query<DeliveryRow>(
          `SELECT event_id, user_id, outcome, reason, chat_id::text, telegram_message_id::text
           FROM notification_deliveries WHERE deal_id = $1 ORDER BY seq, user_id`,
          [dealId],
        )
      ).rows,
    alertJobIds: async (dealId) =>
      (
        await db.pool.query(
          `SELECT job_id FROM outbox WHERE target = $1 AND name = $2 AND payload->>'dealId' = $3 ORDER BY id`,
          [QUEUES.notifications, JOBS.notifications[1], dealId],
        )
      ).rows.map((r) => r.job_id),
    operatorAlerts: async (dealId) =>
      (
        await db.pool.query<OperatorAlertRow>(
          `SELECT seq, chat_id::text, outcome, reason, telegram_message_id::text
           FROM operator_alerts WHERE deal_id = $1 ORDER BY seq, chat_id`,
          [dealId],
        )
      ).rows,
    close: async () => {
      await started.close();
      await relay.stop();
      await queue.close();
      workerConnection.disconnect();
      producer.disconnect();
      await telegram.close();
      await redis.close();
      await db.close();
    },
  };
}

/** Two fresh parties (with Telegram accounts) and a deal the seller created, nothing else yet. */
export async function draftDeal(h: Harness, title?: string) {
  const parties = await makeParties(h.db.pool);
  const { deal } = await h.store.create(newDealInput(parties.seller.id, title ? { title } : {}));
  return { ...parties, deal };
}

/** The buyer joins and both accept: the deal awaits payment. */
export async function acceptDeal(h: Harness, d: Awaited<ReturnType<typeof draftDeal>>) {
  await h.store.act(d.deal.id, { type: 'join', role: 'buyer' }, d.asBuyer, { partyAddress: BUYER_ADDRESS });
  await h.store.act(d.deal.id, { type: 'accept' }, d.asSeller);
  await h.store.act(d.deal.id, { type: 'accept' }, d.asBuyer, {
    deriveDepositAddress: (i) => `0x${i.toString(16).padStart(40, '0')}`,
  });
}

export const setLanguage = (h: Harness, userId: string, language: string) =>
  h.db.pool.query('UPDATE users SET language = $2 WHERE id = $1', [userId, language]);

/** The options the relay gives notification jobs, for tests that add one by hand. */
export const RELAY_JOB_OPTIONS = DEFAULT_JOB_OPTIONS;
