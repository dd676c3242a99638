import { DEAL_EVENTS_CHANNEL, redisKeys } from '@amanat/core';
import {
  createRedis,
  type DealPaymentRow,
  type DealRecord,
  type Logger,
  type PartyNames,
} from '@amanat/platform';
import type { Redis } from 'ioredis';

export type DealReadModel = DealRecord & { payments: DealPaymentRow[]; names: PartyNames };

interface Entry {
  value: Promise<DealReadModel | null>;
  expiresAt: number;
}

/**
 * A short-lived, per-process cache of what GET /api/deals/:id shows. It is for reading only: every
 * change is decided by the store from PostgreSQL, never from here. Concurrent reads of one deal share a
 * single query, and a read is reused for at most `ttlMs`. Every committed change publishes a deal event
 * (through the outbox), and this process drops the deal's entry when it sees one; its own changes drop it
 * at once. So a view is at most a few milliseconds old, and never older than `ttlMs` even when the relay
 * is down.
 */
export class DealReadCache {
  // An invalidation deletes the entry, so a query that was running when the deal changed is never
  // handed to later readers (those who joined it before the change get what it returns).
  private readonly entries = new Map<string, Entry>();
  private readonly load: (id: string) => Promise<DealReadModel | null>;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private subscriber: Redis | null = null;

  constructor(opts: {
    load: (id: string) => Promise<DealReadModel | null>;
    ttlMs: number;
    maxEntries?: number;
  }) {
    this.load = opts.load;
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /** Follows the deal events channel to drop entries as deals change in other processes. */
  async follow(opts: { redisUrl: string; prefix: string; logger: Logger }): Promise<void> {
    if (this.ttlMs <= 0) return;
    const subscriber = createRedis(opts.redisUrl, 'worker', 'api-read-cache');
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      // Only the id matters; a message without one clears everything rather than risk a stale view.
      const match = /"dealId":"([0-9a-f-]{36})"/.exec(message);
      if (match?.[1]) this.invalidate(match[1]);
      else this.clear();
    });
    // After a reconnect, changes published meanwhile were missed.
    subscriber.on('ready', () => this.clear());
    await subscriber.subscribe(redisKeys(opts.prefix).channel(DEAL_EVENTS_CHANNEL)).catch((err: unknown) => {
      opts.logger.warn({ err }, 'deal read cache: cannot follow deal events; entries expire by time only');
    });
  }

  get(id: string): Promise<DealReadModel | null> {
    if (this.ttlMs <= 0) return this.load(id);
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = this.load(id);
    const entry: Entry = { value, expiresAt: now + this.ttlMs };
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A failed read is not remembered.
    value.catch(() => {
      if (this.entries.get(id) === entry) this.entries.delete(id);
    });
    return value;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.entries.clear();
  }
}
