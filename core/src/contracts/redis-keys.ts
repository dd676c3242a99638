/**
 * Redis key names shared across services. Every key sits under the deployment's prefix so tests and
 * several deployments can share one Redis without touching each other's data.
 */
export const redisKeys = (prefix: string) => ({
  /**
   * Lower-cased deposit addresses of deals that may still receive money on a chain: the scanner reads
   * their transfers every tick. The API adds an address when its deal starts awaiting payment; the workers
   * rebuild the set from PostgreSQL.
   */
  watchSet: (chainId: number) => `${prefix}:watch:${chainId}`,
  /**
   * Every other deposit address ever handed out: checked on a slower schedule for ever, so money sent
   * months later is still found. Addresses only ever move from the hot set to this one.
   */
  coldWatchSet: (chainId: number) => `${prefix}:watch-cold:${chainId}`,
  /** The scanner's cursor for a chain (block, hash, recent blocks, payments awaiting confirmations). */
  scanState: (chainId: number) => `${prefix}:scan:${chainId}`,
  /**
   * Events of a chain not yet acknowledged by the API (member: event id, score: block number). The
   * scanner's checkpoint never passes the lowest, so a Redis that loses its queue loses no undelivered event.
   */
  undeliveredEvents: (chainId: number) => `${prefix}:undelivered:${chainId}`,
  /**
   * The payout signer's records with a transaction in flight on a chain (member: `<sender> <record>`,
   * score: last broadcast, ms): added before each broadcast, removed when the record is final. The scanner
   * watches these senders' outgoing transfers.
   */
  payoutsInFlight: (chainId: number) => `${prefix}:payouts-in-flight:${chainId}`,
  /** What the scanner saw each such transaction do (field: tx hash), written together with its cursor. */
  outgoingSeen: (chainId: number) => `${prefix}:outgoing:${chainId}`,
  /** The same transactions scored by block number: dropped on a rewind, pruned once deep. */
  outgoingSeenBlocks: (chainId: number) => `${prefix}:outgoing-blocks:${chainId}`,
  /** Marks a payment webhook id the API has accepted, for dedupe across retries and replays. */
  callbackSeen: (webhookId: string) => `${prefix}:callback-seen:${webhookId}`,
  /** Next moment (ms) a Telegram message may go to a chat: Telegram allows about one per second per chat. */
  telegramChatSlot: (chatId: bigint | number | string) => `${prefix}:tg-chat:${chatId}`,
  /** Assistant requests a user made in the current minute window (per-user rate limit). */
  llmRate: (userId: string) => `${prefix}:llm-rate:${userId}`,
  /**
   * Assistant tokens a user spent on a UTC day (`llmQuotaDay`): the daily quota. The assist proxy adds an
   * estimate when it admits a request; the llm worker adds what each upstream round really used.
   */
  llmTokens: (userId: string, day: string) => `${prefix}:llm-tokens:${userId}:${day}`,
  /**
   * The estimate the proxy added to `llmTokens` when it admitted a request (`llmReservation.encode`).
   * Whoever takes it first (the worker that runs the job, or the proxy that withdrew it) settles it.
   */
  llmReservation: (requestId: string) => `${prefix}:llm-reserved:${requestId}`,
  /** Set by the proxy when the client of a request went away or timed out: the worker stops answering. */
  llmCancel: (requestId: string) => `${prefix}:llm-cancel:${requestId}`,
  /** Pub/sub channel for deal events. */
  channel: (name: string) => `${prefix}:${name}`,
  /** BullMQ's own prefix for every queue. */
  bullPrefix: `${prefix}:bull`,
});

/** The UTC day an assistant token is counted on: the quota resets at midnight UTC for everyone. */
export const llmQuotaDay = (at: Date): string => at.toISOString().slice(0, 10);

/** A day's token counter (and a reservation on it) outlives the day, so a request across midnight finds it. */
export const LLM_TOKENS_TTL_SEC = 2 * 86_400;

/** How long a cancellation mark lives: longer than any request may wait in the queue or run. */
export const LLM_CANCEL_TTL_SEC = 15 * 60;

/** The value of an `llmReservation` key: the day it was counted on and how many tokens. */
export const llmReservation = {
  encode: (day: string, tokens: number): string => `${day}|${tokens}`,
  decode(value: string | null | undefined): { day: string; tokens: number } | null {
    const match = /^(\d{4}-\d{2}-\d{2})\|(\d{1,12})$/.exec(value ?? '');
    return match ? { day: match[1] as string, tokens: Number(match[2]) } : null;
  },
};

/**
 * The Lua scripts both sides run on the token counters, so the proxy and the worker count the same way.
 * `add`: KEYS[1] counter, ARGV[1] tokens, ARGV[2] ttl → the new total. `take`: KEYS[1] a reservation →
 * its value, deleted (nil when someone took it first). `refund`: KEYS[1] counter, ARGV[1] tokens → the
 * new total, never below zero.
 */
export const LLM_QUOTA_SCRIPTS = {
  add: `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
`,
  take: `
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`,
  refund: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local total = redis.call('DECRBY', KEYS[1], ARGV[1])
if total < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL'); total = 0 end
return total
`,
} as const;
