import { randomBytes } from 'node:crypto';
import { LOCALES } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * What the bot remembers between updates, in Redis with a TTL: who it registered lately, each chat's
 * recent conversation with the assistant, and where a paginated /deals list goes on. None of it is a
 * source of truth: when Redis is unavailable the bot registers users again, answers without history,
 * and asks for /deals again, instead of failing.
 */

export const botKeys = (prefix: string) => ({
  user: (telegramId: number) => `${prefix}:bot:user:${telegramId}`,
  conversation: (chatId: number) => `${prefix}:bot:conversation:${chatId}`,
  dealsPage: (id: string) => `${prefix}:bot:deals-page:${id}`,
  update: (botId: number, updateId: number) => `${prefix}:bot:update:${botId}:${updateId}`,
});

/** How long a registration counts as fresh: the API hears from each active user about this often. */
export const USER_FRESH_SEC = 5 * 60;
/** A conversation older than this starts over. */
export const CONVERSATION_TTL_SEC = 30 * 60;
/** Messages kept per chat (user and assistant turns together). */
export const CONVERSATION_MAX_MESSAGES = 12;
/**
 * An earlier answer goes back to the assistant as context, not as an authority: the gist is enough, and
 * a long answer (a pasted deal description, a list of deals) would otherwise crowd out the new question
 * and carry whatever it quoted into every later turn.
 */
export const ASSISTANT_TURN_MAX_CHARS = 2000;
/** All the history sent with one question, in characters. */
export const CONVERSATION_MAX_CHARS = 8000;
const PAGE_TTL_SEC = 60 * 60;
/** Telegram keeps an undelivered update for 24 hours: a redelivery comes within that. */
const UPDATE_SEEN_SEC = 24 * 60 * 60;

const knownUserSchema = z.object({ id: z.string(), language: z.enum(LOCALES) });
export type KnownUser = z.infer<typeof knownUserSchema>;

const turnSchema = z.object({ role: z.enum(['user', 'assistant']), content: z.string() });
export type Turn = z.infer<typeof turnSchema>;

const clipTurn = (turn: Turn): Turn => {
  if (turn.role !== 'assistant' || turn.content.length <= ASSISTANT_TURN_MAX_CHARS) return turn;
  const chars = Array.from(turn.content);
  if (chars.length <= ASSISTANT_TURN_MAX_CHARS) return turn;
  return { role: 'assistant', content: `${chars.slice(0, ASSISTANT_TURN_MAX_CHARS - 1).join('')}…` };
};

/**
 * The latest turns that fit in CONVERSATION_MAX_CHARS, each assistant turn clipped, starting with a
 * question (an answer without its question would read as the assistant talking to itself).
 */
export function boundConversation(turns: Turn[]): Turn[] {
  const kept: Turn[] = [];
  let total = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = clipTurn(turns[i] as Turn);
    if (total + turn.content.length > CONVERSATION_MAX_CHARS) break;
    total += turn.content.length;
    kept.unshift(turn);
  }
  while (kept[0]?.role === 'assistant') kept.shift();
  return kept;
}

export interface BotMemory {
  knownUser(telegramId: number): Promise<KnownUser | null>;
  rememberUser(telegramId: number, user: KnownUser): Promise<void>;
  forgetUser(telegramId: number): Promise<void>;
  conversation(chatId: number): Promise<Turn[]>;
  /** Appends one exchange (the answer clipped) and keeps only the latest turns. */
  addExchange(chatId: number, question: string, answer: string): Promise<void>;
  /** Stores a /deals cursor (too long for callback data) under a short id. */
  saveDealsPage(cursor: string): Promise<string | null>;
  dealsPage(id: string): Promise<string | null>;
  /**
   * False when this update was handled already (Telegram redelivers after a webhook timeout or when a
   * poller stopped before confirming), so a press of Confirm or a question is acted on once.
   */
  firstDelivery(botId: number, updateId: number): Promise<boolean>;
}

export function createBotMemory(redis: Redis, prefix: string, logger: Logger): BotMemory {
  const keys = botKeys(prefix);
  const degraded = (what: string) => (err: unknown) => {
    logger.warn({ err: (err as Error).message }, `redis unavailable: ${what}`);
    return null;
  };
  const parseJson = (text: string | null): unknown => {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };

  return {
    async knownUser(telegramId) {
      const text = await redis.get(keys.user(telegramId)).catch(degraded('read user'));
      const parsed = knownUserSchema.safeParse(parseJson(text ?? null));
      return parsed.success ? parsed.data : null;
    },
    async rememberUser(telegramId, user) {
      await redis
        .set(keys.user(telegramId), JSON.stringify(user), 'EX', USER_FRESH_SEC)
        .catch(degraded('remember user'));
    },
    async forgetUser(telegramId) {
      await redis.del(keys.user(telegramId)).catch(degraded('forget user'));
    },
    async conversation(chatId) {
      const items =
        (await redis.lrange(keys.conversation(chatId), 0, -1).catch(degraded('read conversation'))) ?? [];
      return boundConversation(
        items.flatMap((item) => {
          const turn = turnSchema.safeParse(parseJson(item));
          return turn.success ? [turn.data] : [];
        }),
      );
    },
    async addExchange(chatId, question, answer) {
      const key = keys.conversation(chatId);
      await redis
        .multi()
        .rpush(
          key,
          JSON.stringify({ role: 'user', content: question }),
          JSON.stringify(clipTurn({ role: 'assistant', content: answer })),
        )
        .ltrim(key, -CONVERSATION_MAX_MESSAGES, -1)
        .expire(key, CONVERSATION_TTL_SEC)
        .exec()
        .catch(degraded('save conversation'));
    },
    async saveDealsPage(cursor) {
      const id = randomBytes(12).toString('base64url');
      const saved = await redis
        .set(keys.dealsPage(id), cursor, 'EX', PAGE_TTL_SEC)
        .catch(degraded('save page'));
      return saved ? id : null;
    },
    async dealsPage(id) {
      return (await redis.get(keys.dealsPage(id)).catch(degraded('read page'))) ?? null;
    },
    async firstDelivery(botId, updateId) {
      const claimed = await redis
        .set(keys.update(botId, updateId), '1', 'EX', UPDATE_SEEN_SEC, 'NX')
        .then((r) => r === 'OK')
        // Without Redis a redelivered update may be handled twice; dropping every update would be worse.
        .catch((err) => degraded('claim update')(err) ?? true);
      return claimed;
    },
  };
}
