import { LLM_QUOTA_SCRIPTS, LLM_TOKENS_TTL_SEC, llmQuotaDay, llmReservation, redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';
import { AssistantError } from './errors.ts';

/**
 * Per-user request rate and daily token quota, kept in Redis so every assist replica shares them. The
 * proxy only admits: the llm worker counts the tokens each request really used (workers/src/llm/
 * metering.ts), since only it knows, and it keeps counting when the client has gone away.
 */
export interface AssistantLimits {
  /**
   * Admits one request for the user, or throws a 429 AssistantError (quota spent, or too many this minute).
   * An admitted request reserves `reserve.tokens` (an estimate of its prompt) on today's count at once, so
   * parallel requests cannot all pass a nearly spent quota; the worker that runs it takes the reservation
   * over and settles it against real usage.
   */
  admit(userId: string, reserve?: { requestId: string; tokens: number }): Promise<void>;
  /** Gives back the reservation of a request no worker will run (withdrawn, or never queued). */
  release(userId: string, requestId: string): Promise<void>;
  /** Tokens the user spent today (reservations included). */
  spentToday(userId: string): Promise<number>;
}

const WINDOW_MS = 60_000;

// One round trip, atomic: the daily quota first (a spent quota answers the same all day), then a
// fixed one-minute window that only counts admitted requests, so hammering a full window does not keep it
// full; an admitted request then reserves its estimate on the day's count. Returns {0} admitted,
// {1, spent} over quota, {2, ms left in the window} over the rate.
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
local reserve = tonumber(ARGV[4])
if reserve > 0 then
  redis.call('INCRBY', KEYS[2], reserve)
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[5])
end
return {0, 0}
`;

const nextUtcMidnight = (at: Date) =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)).toISOString();

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
    async admit(userId, reserve) {
      const at = now();
      const day = llmQuotaDay(at);
      const tokens = Math.max(0, Math.ceil(reserve?.tokens ?? 0));
      const [verdict, value] = (await opts.redis.eval(
        ADMIT,
        3,
        keys.llmRate(userId),
        keys.llmTokens(userId, day),
        // A request without a reservation names a key it never writes.
        keys.llmReservation(reserve?.requestId ?? 'none'),
        opts.requestsPerMin,
        opts.dailyTokens,
        WINDOW_MS,
        reserve ? tokens : 0,
        LLM_TOKENS_TTL_SEC,
        llmReservation.encode(day, tokens),
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
    async release(userId, requestId) {
      const taken = llmReservation.decode(
        (await opts.redis.eval(LLM_QUOTA_SCRIPTS.take, 1, keys.llmReservation(requestId))) as string | null,
      );
      if (!taken || taken.tokens <= 0) return;
      await opts.redis.eval(LLM_QUOTA_SCRIPTS.refund, 1, keys.llmTokens(userId, taken.day), taken.tokens);
    },
    async spentToday(userId) {
      return Number((await opts.redis.get(keys.llmTokens(userId, llmQuotaDay(now())))) ?? 0);
    },
  };
}
