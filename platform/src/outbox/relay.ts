import {
  DEAL_EVENTS_CHANNEL,
  type DealEvent,
  JOBS,
  notificationJobId,
  QUEUES,
  redisKeys,
} from '@amanat/core';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Pool } from '../db.ts';
import { OUTBOX_WAKE_CHANNEL } from './write.ts';

interface OutboxRow {
  id: string;
  kind: 'job' | 'publish' | 'deal_event';
  target: string;
  name: string | null;
  job_id: string | null;
  payload: unknown;
  run_at: Date | null;
}

interface JobSpec {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/** Defaults for every job the relay enqueues: retried with backoff, and failures kept for bull-board. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
  removeOnFail: false,
};

/**
 * Per-queue overrides. The legacy mirror may be down for hours during the cutover without anyone's
 * action failing, so its jobs keep retrying for about a day (1 s doubling, capped by the attempts).
 */
export const QUEUE_JOB_OPTIONS: Partial<Record<string, JobsOptions>> = {
  [QUEUES.mirror]: { attempts: 17 },
  // A Telegram outage of a few hours still ends with the message delivered (1 s doubling: about 9 h).
  [QUEUES.notifications]: { attempts: 15 },
};

const PRUNE_EVERY_MS = 3600_000;

export interface RelayOptions {
  pool: Pool;
  /** A producer connection (enableOfflineQueue: false): a Redis outage fails a batch fast, and it is retried. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  /**
   * A dedicated connection for the wake-up channel that committing processes publish to; without it
   * the relay only polls.
   */
  subscriber?: Redis;
  pollMs?: number;
  batchSize?: number;
  /** Job options per queue, over DEFAULT_JOB_OPTIONS and QUEUE_JOB_OPTIONS. */
  jobOptions?: Partial<Record<string, JobsOptions>>;
  /** Fault-injection points for crash tests; never set in production. */
  hooks?: { beforeDeliver?: (rows: number) => void; afterDeliver?: (rows: number) => void };
}

/**
 * Moves committed outbox rows to BullMQ and Redis pub/sub. A deal event is stored once and fanned out
 * here: published for the app's WebSocket and enqueued as one notification job per party. Delivery is
 * at least once: a crash after delivering but before marking re-delivers, which job ids make harmless
 * for jobs and event ids let clients drop for pub/sub. Several relays may run: `SKIP LOCKED` gives each
 * row to one of them.
 */
export class OutboxRelay {
  private readonly opts: RelayOptions & { pollMs: number; batchSize: number };
  private readonly queues = new Map<string, Queue>();
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(opts: RelayOptions) {
    this.opts = { pollMs: 1000, batchSize: 500, ...opts };
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.opts.redis,
        prefix: redisKeys(this.opts.prefix).bullPrefix,
        defaultJobOptions: {
          ...DEFAULT_JOB_OPTIONS,
          ...QUEUE_JOB_OPTIONS[name],
          ...this.opts.jobOptions?.[name],
        },
      });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Delivers one batch; returns how many rows it delivered. */
  async drainOnce(): Promise<number> {
    const client = await this.opts.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, kind, target, name, job_id, payload, run_at FROM outbox
         WHERE delivered_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.opts.batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const ids = rows.map((r) => r.id);
      this.opts.hooks?.beforeDeliver?.(rows.length);
      try {
        await this.deliver(rows);
      } catch (err) {
        await client.query(
          'UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])',
          [ids, String(err instanceof Error ? err.message : err).slice(0, 500)],
        );
        await client.query('COMMIT');
        throw err;
      }
      this.opts.hooks?.afterDeliver?.(rows.length);
      await client.query('UPDATE outbox SET delivered_at = now() WHERE id = ANY($1::bigint[])', [ids]);
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  private async deliver(rows: OutboxRow[]): Promise<void> {
    const jobs = new Map<string, JobSpec[]>();
    const addJob = (queue: string, spec: JobSpec) => jobs.set(queue, [...(jobs.get(queue) ?? []), spec]);
    const publishes: Array<[string, string]> = [];
    const keys = redisKeys(this.opts.prefix);
    for (const row of rows) {
      if (row.kind === 'job') {
        // Due time, not a stored delay: a relay backlog or a replay must not push a deadline back.
        const delay = row.run_at ? row.run_at.getTime() - Date.now() : 0;
        addJob(row.target, {
          name: row.name as string,
          data: row.payload,
          opts: { jobId: row.job_id as string, ...(delay > 0 ? { delay } : {}) },
        });
      } else if (row.kind === 'publish') {
        publishes.push([keys.channel(row.target), JSON.stringify(row.payload)]);
      } else {
        const event = row.payload as DealEvent;
        publishes.push([keys.channel(DEAL_EVENTS_CHANNEL), JSON.stringify(event)]);
        for (const recipientUserId of event.audience) {
          const data = {
            eventId: event.id,
            dealId: event.dealId,
            seq: event.seq,
            recipientUserId,
            channel: 'telegram' as const,
          };
          addJob(QUEUES.notifications, {
            name: JOBS.notifications[0],
            data,
            opts: { jobId: notificationJobId(data) },
          });
        }
      }
    }
    await Promise.all([...jobs].map(([name, specs]) => this.queue(name).addBulk(specs)));
    if (publishes.length > 0) {
      const pipeline = this.opts.redis.pipeline();
      for (const [channel, message] of publishes) pipeline.publish(channel, message);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
    }
  }

  /**
   * Marks rows written since `since` as undelivered, so a Redis that lost recent writes (for example
   * within its last fsync interval) gets them again; job ids keep the ones it still has from doubling.
   */
  async replaySince(since: Date): Promise<number> {
    const { rowCount } = await this.opts.pool.query(
      'UPDATE outbox SET delivered_at = NULL WHERE delivered_at IS NOT NULL AND created_at >= $1',
      [since],
    );
    this.kick();
    return rowCount ?? 0;
  }

  /** Delivered rows are kept for a while for inspection, then removed. */
  async prune(olderThanDays = 7): Promise<number> {
    const { rowCount } = await this.opts.pool.query(
      'DELETE FROM outbox WHERE delivered_at < now() - make_interval(days => $1)',
      [olderThanDays],
    );
    return rowCount ?? 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.opts.subscriber) {
      this.opts.subscriber.on('message', () => this.kick());
      await this.opts.subscriber.subscribe(redisKeys(this.opts.prefix).channel(OUTBOX_WAKE_CHANNEL));
    }
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.opts.pollMs);
    };
    tick();
    this.pruneTimer = setInterval(() => {
      this.prune().catch((err) => this.opts.logger.warn({ err }, 'outbox prune failed'));
    }, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** Runs the drain loop now, or once more after the current run, never two at a time. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          while (!this.stopped && (await this.drainOnce()) === this.opts.batchSize) {}
        } catch (err) {
          this.opts.logger.error({ err }, 'outbox delivery failed; will retry');
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** Stops taking new batches, lets the one in flight finish, and closes what it opened. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.running;
    await this.opts.subscriber?.unsubscribe().catch(() => {});
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
