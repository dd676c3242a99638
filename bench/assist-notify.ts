// bench:assist's throughput figure: the real notifications worker (limits off) delivering notification jobs
// made from real deal events (deal store → outbox → relay), against a bare BullMQ worker with the same
// number of jobs and the same concurrency whose handler only makes the same sendMessage call with
// telegraf. The Bot API double runs in a process of its own; a round's time is from the worker's start to
// the last message the double accepted. Rounds alternate which worker goes first, with fresh events each.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createRegistry, QUEUES, redisKeys } from '@amanat/core';
import {
  connectRedis,
  createLogger,
  createRedis,
  DEFAULT_JOB_OPTIONS,
  DealStore,
  OutboxRelay,
  QUEUE_JOB_OPTIONS,
} from '@amanat/platform';
import { Queue, Worker } from 'bullmq';
import { Telegram } from 'telegraf';
import { createTestDatabase, deleteKeysWithPrefix } from '../devstack/testing.ts';
import { BUYER_ADDRESS, makeParties, newDealInput } from '../platform/src/deals/test-fixtures.ts';
import { startNotificationsWorker } from '../workers/src/notifications/start.ts';
import type { SentMessage, TelegramCommand, TelegramReply, TelegramStats } from './assist-telegram.ts';

const root = join(import.meta.dirname, '..');
/** The notifications worker's own default (workers/src/notifications/start.ts), given to both workers. */
export const NOTIFY_CONCURRENCY = 32;
/** As the workers process sets them for every worker. */
const WORKER_OPTIONS = { lockDuration: 15_000, stalledInterval: 5_000 };
const BARE_QUEUE = 'bench-bare-telegram';
/** Deals made at once while a round's events are prepared. */
const DEAL_CONCURRENCY = 8;
const ROUND_DEADLINE_MS = 60_000;

export interface NotifyRound {
  jobs: number;
  notifyMs: number;
  bareMs: number;
}

export interface NotifyThroughput {
  latencyMs: number;
  rounds: NotifyRound[];
  problems: string[];
}

/** The Bot API double's process, driven over IPC; it answers commands in the order they were sent. */
async function startTelegramProcess() {
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bench', 'assist-telegram.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: Array<(r: TelegramReply) => void> = [];
  let onReady: ((r: TelegramReply) => void) | null = null;
  const ready = new Promise<TelegramReply>((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`the Bot API double exited with ${code}`)));
  });
  child.on('message', (raw) => {
    const reply = raw as TelegramReply;
    if (reply.kind === 'ready') onReady?.(reply);
    else waiting.shift()?.(reply);
  });
  const started = await ready;
  if (started.kind !== 'ready') throw new Error('the Bot API double did not start');
  const ask = (cmd: TelegramCommand) =>
    new Promise<TelegramReply>((resolve) => {
      waiting.push(resolve);
      child.send(cmd);
    });
  return {
    apiRoot: started.apiRoot,
    token: started.token,
    setLatency: async (ms: number) => void (await ask({ kind: 'latency', ms })),
    reset: async () => void (await ask({ kind: 'reset' })),
    stats: async (): Promise<TelegramStats> => {
      const r = await ask({ kind: 'stats' });
      if (r.kind !== 'stats') throw new Error('unexpected reply from the Bot API double');
      return r.stats;
    },
    sample: async (count: number): Promise<SentMessage[]> => {
      const r = await ask({ kind: 'sample', count });
      if (r.kind !== 'sample') throw new Error('unexpected reply from the Bot API double');
      return r.messages;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

type TelegramProcess = Awaited<ReturnType<typeof startTelegramProcess>>;

/**
 * Starts a worker and waits until the double has accepted `jobs` messages; the time is from the start to
 * the last accepted message. Problems: a failed Bot API call, or more messages than jobs.
 */
async function timeDelivery(
  tg: TelegramProcess,
  jobs: number,
  start: () => { close(): Promise<void> },
  problems: string[],
  what: string,
): Promise<number> {
  await tg.reset();
  const t0 = Date.now();
  const worker = start();
  try {
    for (;;) {
      const s = await tg.stats();
      if (s.sent >= jobs) {
        // A moment for anything extra (a job delivered twice) to show.
        await new Promise((r) => setTimeout(r, 200));
        const after = await tg.stats();
        if (after.sent !== jobs) problems.push(`${what}: ${after.sent} messages for ${jobs} jobs`);
        if (after.failed > 0) problems.push(`${what}: ${after.failed} failed Bot API calls`);
        return s.lastAt - t0;
      }
      if (Date.now() - t0 > ROUND_DEADLINE_MS) {
        throw new Error(`${what}: only ${s.sent} of ${jobs} messages within ${ROUND_DEADLINE_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await worker.close();
  }
}

export async function benchNotifyThroughput(opts: {
  env: { databaseUrl: string; redisUrl: string };
  /** Bot API round trips to measure at, ms; each gets its own rounds. */
  latenciesMs: readonly number[];
  rounds: number;
  minJobs: number;
  log: (m: string) => void;
}): Promise<NotifyThroughput[]> {
  const { log } = opts;
  process.env.DATABASE_URL = opts.env.databaseUrl;
  process.env.REDIS_URL = opts.env.redisUrl;
  const prefix = `bench-notify-${Date.now().toString(36)}`;
  const bullPrefix = redisKeys(prefix).bullPrefix;
  const logger = createLogger('bench-notify', 'warn');
  const db = await createTestDatabase();
  const producer = await connectRedis(createRedis(opts.env.redisUrl, 'producer', 'bench-notify-producer'));
  const connection = createRedis(opts.env.redisUrl, 'worker', 'bench-notify-worker');
  const relay = new OutboxRelay({ pool: db.pool, redis: producer, prefix, logger });
  const store = new DealStore({ pool: db.pool });
  const registry = createRegistry();
  const notifyQueue = new Queue(QUEUES.notifications, { connection, prefix: bullPrefix });
  const bareQueue = new Queue(BARE_QUEUE, { connection, prefix: bullPrefix });
  const tg = await startTelegramProcess();

  /** Deals taken through create, join and both accepts: their events become queued notification jobs. */
  const makeEvents = async (deals: number): Promise<number> => {
    let next = 0;
    const one = async () => {
      while (next < deals) {
        next++;
        const p = await makeParties(db.pool);
        const { deal } = await store.create(newDealInput(p.seller.id));
        await store.act(deal.id, { type: 'join', role: 'buyer' }, p.asBuyer, { partyAddress: BUYER_ADDRESS });
        await store.act(deal.id, { type: 'accept' }, p.asSeller);
        await store.act(deal.id, { type: 'accept' }, p.asBuyer, {
          deriveDepositAddress: (i) => `0x${i.toString(16).padStart(40, '0')}`,
        });
      }
    };
    await Promise.all(Array.from({ length: DEAL_CONCURRENCY }, one));
    while ((await relay.drainOnce()) > 0) {}
    const counts = await notifyQueue.getJobCounts('wait', 'prioritized', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };

  const startNotify = () =>
    startNotificationsWorker({
      pool: db.pool,
      registry,
      config: {
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.apiRoot,
        APP_ORIGIN: 'https://app.amanat.test',
        NOTIFY_RATE_PER_SEC: 0,
        NOTIFY_CHAT_INTERVAL_MS: 0,
      },
      logger,
      connection,
      producer,
      prefix,
      workerOptions: WORKER_OPTIONS,
      concurrency: NOTIFY_CONCURRENCY,
    });

  let sample: SentMessage[] = [];
  const queueBare = async (jobs: number) => {
    const opts = { ...DEFAULT_JOB_OPTIONS, ...QUEUE_JOB_OPTIONS[QUEUES.notifications] };
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      await bareQueue.addBulk(
        Array.from({ length: n }, (_, k) => ({
          name: 'send',
          data: sample[(i + k) % sample.length] as SentMessage,
          opts,
        })),
      );
    }
  };
  const startBare = () => {
    const telegram = new Telegram(tg.token, { apiRoot: tg.apiRoot });
    const worker = new Worker(
      BARE_QUEUE,
      async (job) => {
        const m = job.data as SentMessage;
        await telegram.sendMessage(m.chatId, m.text, m.extra);
      },
      { ...WORKER_OPTIONS, connection, prefix: bullPrefix, concurrency: NOTIFY_CONCURRENCY },
    );
    return { close: () => worker.close() };
  };

  try {
    // Warm-up: JIT, prepared statements, connections; and the messages the bare worker will send.
    log('notification throughput: warm-up');
    const warmJobs = await makeEvents(40);
    const jobsPerDeal = warmJobs / 40;
    const warmProblems: string[] = [];
    await timeDelivery(tg, warmJobs, startNotify, warmProblems, 'warm-up');
    sample = await tg.sample(warmJobs);
    if (warmProblems.length > 0 || sample.length === 0) {
      throw new Error(`the warm-up did not deliver: ${warmProblems.join('; ') || 'no messages'}`);
    }
    await queueBare(warmJobs);
    await timeDelivery(tg, warmJobs, startBare, warmProblems, 'bare warm-up');
    const dealsPerRound = Math.ceil(opts.minJobs / jobsPerDeal);

    const results: NotifyThroughput[] = [];
    for (const latencyMs of opts.latenciesMs) {
      await tg.setLatency(latencyMs);
      const rounds: NotifyRound[] = [];
      const problems: string[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        log(`notification throughput at ${latencyMs} ms: round ${i + 1} of ${opts.rounds}`);
        const jobs = await makeEvents(dealsPerRound);
        const notify = () => timeDelivery(tg, jobs, startNotify, problems, `round ${i + 1}, notifications`);
        const bare = async () => {
          await queueBare(jobs);
          return timeDelivery(tg, jobs, startBare, problems, `round ${i + 1}, bare`);
        };
        if (i % 2 === 0) {
          const notifyMs = await notify();
          rounds.push({ jobs, notifyMs, bareMs: await bare() });
        } else {
          const bareMs = await bare();
          rounds.push({ jobs, notifyMs: await notify(), bareMs });
        }
      }
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notification_deliveries WHERE outcome <> 'sent'`,
      );
      if ((rows[0]?.n ?? 0) > 0) problems.push(`${rows[0]?.n} notifications skipped instead of sent`);
      results.push({ latencyMs, rounds, problems });
    }
    return results;
  } finally {
    await tg.stop();
    await relay.stop();
    await notifyQueue.close();
    await bareQueue.close();
    await deleteKeysWithPrefix(producer, prefix).catch(() => {});
    connection.disconnect();
    producer.disconnect();
    await db.close();
  }
}
