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
  /** Marks a payment webhook id the API has accepted, for dedupe across retries and replays. */
  callbackSeen: (webhookId: string) => `${prefix}:callback-seen:${webhookId}`,
  /** Next moment (ms) a Telegram message may go to a chat: Telegram allows about one per second per chat. */
  telegramChatSlot: (chatId: bigint | number | string) => `${prefix}:tg-chat:${chatId}`,
  /** Assistant requests a user made in the current minute window (per-user rate limit). */
  llmRate: (userId: string) => `${prefix}:llm-rate:${userId}`,
  /** Assistant tokens a user spent on a UTC day (YYYY-MM-DD): the daily quota. */
  llmTokens: (userId: string, day: string) => `${prefix}:llm-tokens:${userId}:${day}`,
  /** Pub/sub channel for deal events. */
  channel: (name: string) => `${prefix}:${name}`,
  /** BullMQ's own prefix for every queue. */
  bullPrefix: `${prefix}:bull`,
});
