import { type LlmUsage, redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';
import { AssistantError } from './errors.ts';

export interface AssistantLimits {
  /** Counts one request for the user, or throws a 429 AssistantError (quota spent, or too many this minute). */
  admit(userId: string): Promise<void>;
  /** Adds an answer's tokens to the user's count for the current UTC day. */
  record(userId: string, usage: LlmUsage): Promise<void>;
  /** Tokens the user spent today. */
  spentToday(userId: string): Promise<number>;
}

const WINDOW_MS = 60_000;
/** A day's counter outlives the day, so a request that straddles midnight still finds it. */
const DAY_TTL_SEC = 2 * 86_400;

// One round trip, atomic: the daily quota first (a spent quota answers the same all day), then a
// fixed one-minute window that only counts admitted requests, so hammering a full window does not keep it
// full. Returns {0} admitted, {1, spent} over quota, {2, ms left in the window} over the rate.
const ADMIT = `
local spent = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent >= tonumber(ARGV[2]) then return {1, spent} end
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]); ttl = tonumber(ARGV[3]) end
  return {2, ttl}
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {0, 0}
`;

const RECORD = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
`;

/** The UTC day a token is counted on: the quota resets at midnight UTC for everyone. */
export const utcDay = (at: Date = new Date()): string => at.toISOString().slice(0, 10);

const nextUtcMidnight = (at: Date) =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)).toISOString();

/** Per-user request rate and daily token quota, kept in Redis so every assist replica shares them. */
export function createLimits(opts: {
  redis: Redis;
  prefix: string;
  requestsPerMin: number;
  dailyTokens: number;
  now?: () => Date;
}): AssistantLimits {
  const keys = redisKeys(opts.prefix);
  const now = opts.now ?? (() => new Date());
  return {
    async admit(userId) {
      const at = now();
      const [verdict, value] = (await opts.redis.eval(
        ADMIT,
        2,
        keys.llmRate(userId),
        keys.llmTokens(userId, utcDay(at)),
        opts.requestsPerMin,
        opts.dailyTokens,
        WINDOW_MS,
      )) as [number, number];
      if (verdict === 1) {
        throw new AssistantError(
          429,
          'daily_quota_exceeded',
          `You have used today's assistant quota (${opts.dailyTokens} tokens); it resets at ${nextUtcMidnight(at)}.`,
          { type: 'insufficient_quota', shouldRetry: false },
        );
      }
      if (verdict === 2) {
        const retryAfterSec = Math.max(1, Math.ceil(value / 1000));
        throw new AssistantError(
          429,
          'rate_limit_exceeded',
          `Too many assistant requests: at most ${opts.requestsPerMin} a minute. Try again in ${retryAfterSec} s.`,
          { type: 'rate_limit_exceeded', retryAfterSec },
        );
      }
    },
    async record(userId, usage) {
      const tokens = usage.promptTokens + usage.completionTokens;
      if (tokens <= 0) return;
      await opts.redis.eval(RECORD, 1, keys.llmTokens(userId, utcDay(now())), tokens, DAY_TTL_SEC);
    },
    async spentToday(userId) {
      return Number((await opts.redis.get(keys.llmTokens(userId, utcDay(now())))) ?? 0);
    },
  };
}
