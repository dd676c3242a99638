import { createHash } from 'node:crypto';
import { redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';

/**
 * Reserves the next send slot for a chat: at least `interval` ms after the slot reserved before it, and
 * not before `notBefore` ms from now (a 429's retry_after). Returns how many ms from now the slot is, so
 * 0 means "send now". Redis's own clock is used, so workers with skewed clocks still space messages, and
 * the key expires once the slot no longer constrains anything.
 */
const RESERVE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local slot = now + tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]))
if last and last + interval > slot then slot = last + interval end
redis.call('SET', KEYS[1], slot, 'PX', slot - now + interval + 1)
return slot - now
`;
const RESERVE_SLOT_SHA = createHash('sha1').update(RESERVE_SLOT).digest('hex');

/**
 * Telegram allows about one message per second to one chat. BullMQ's limiter is global only, so each
 * chat's pace is kept here: a job reserves its chat's next slot and, when that is in the future, waits
 * for it as a delayed job rather than holding a worker slot.
 */
export class ChatThrottle {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof redisKeys>;
  readonly intervalMs: number;

  constructor(opts: { redis: Redis; prefix: string; intervalMs: number }) {
    this.redis = opts.redis;
    this.keys = redisKeys(opts.prefix);
    this.intervalMs = opts.intervalMs;
  }

  /** Ms to wait before sending to `chatId`; the slot is this caller's once returned. */
  async reserve(chatId: bigint | number, notBeforeMs = 0): Promise<number> {
    if (this.intervalMs === 0 && notBeforeMs === 0) return 0;
    const key = this.keys.telegramChatSlot(chatId);
    const args = [String(this.intervalMs), String(Math.max(0, Math.ceil(notBeforeMs)))];
    try {
      return Number(await this.redis.evalsha(RESERVE_SLOT_SHA, 1, key, ...args));
    } catch (err) {
      // A Redis that restarted (or never saw the script) has no script cache; EVAL loads it.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return Number(await this.redis.eval(RESERVE_SLOT, 1, key, ...args));
    }
  }
}
