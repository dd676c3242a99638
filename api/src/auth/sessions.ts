import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Sessions live in Redis under the hash of their token, so a copy of Redis holds no usable token.
 * They expire on their own and are revoked by deleting the key. A session carries the few user fields
 * every request needs, so authenticating costs one Redis read and no database query; they are
 * refreshed at each sign-in.
 */
const sessionSchema = z.object({
  userId: z.uuid(),
  telegramId: z.string().regex(/^\d+$/).nullable(),
  username: z.string().nullable(),
  displayName: z.string(),
  language: z.string(),
  createdAt: z.iso.datetime(),
  via: z.enum(['telegram', 'login_link', 'dev']),
});
export type Session = z.infer<typeof sessionSchema>;

/** What a request knows about its caller: the stable identity and profile fields. */
export interface SessionUser {
  id: string;
  telegramId: bigint | null;
  username: string | null;
  displayName: string;
  language: string;
}

export const sessionUser = (s: Session): SessionUser => ({
  id: s.userId,
  telegramId: s.telegramId === null ? null : BigInt(s.telegramId),
  username: s.username,
  displayName: s.displayName,
  language: s.language,
});

export const sessionIdOf = (token: string): string => createHash('sha256').update(token).digest('base64url');

const TOKEN = /^ses_[A-Za-z0-9_-]{43}$/;

/**
 * A user keeps at most this many sessions; signing in once more ends the oldest. One valid init data
 * could otherwise mint sessions until Redis (noeviction) is full.
 */
export const MAX_SESSIONS_PER_USER = 20;

// KEYS[1] session, KEYS[2] the user's session index (ids by creation time).
// ARGV: session JSON, ttl s, session id, now ms, max sessions, session key prefix.
// The evicted sessions' keys are built here from their ids (one Redis, not a cluster).
const CREATE = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[2]) * 1000)
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do redis.call('DEL', ARGV[6] .. id) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1`;

type SessionRedis = Redis & {
  amanatCreateSession(
    ...args: [string, string, string, number, string, number, number, string]
  ): Promise<number>;
};

export class SessionStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSec: number;

  private readonly indexPrefix: string;
  private readonly ids = new Map<string, string>();

  constructor(opts: { redis: Redis; prefix: string; ttlSec: number }) {
    this.redis = opts.redis;
    this.prefix = `${opts.prefix}:session:`;
    this.indexPrefix = `${opts.prefix}:user-sessions:`;
    this.ttlSec = opts.ttlSec;
    if (!(opts.redis as unknown as { amanatCreateSession?: unknown }).amanatCreateSession) {
      opts.redis.defineCommand('amanatCreateSession', { numberOfKeys: 2, lua: CREATE });
    }
  }

  async create(user: SessionUser, via: Session['via']): Promise<{ token: string; expiresAt: Date }> {
    const token = `ses_${randomBytes(32).toString('base64url')}`;
    // userId stays the first field: the rate-limit script reads it from the start of the stored JSON.
    const session: Session = {
      userId: user.id,
      telegramId: user.telegramId === null ? null : user.telegramId.toString(),
      username: user.username,
      displayName: user.displayName,
      language: user.language,
      createdAt: new Date().toISOString(),
      via,
    };
    const id = sessionIdOf(token);
    await (this.redis as unknown as SessionRedis).amanatCreateSession(
      this.prefix + id,
      this.indexPrefix + user.id,
      JSON.stringify(session),
      this.ttlSec,
      id,
      Date.now(),
      MAX_SESSIONS_PER_USER,
      this.prefix,
    );
    return { token, expiresAt: new Date(Date.now() + this.ttlSec * 1000) };
  }

  /** The session behind a token, or null when it is unknown, expired, revoked or malformed. */
  async get(token: string): Promise<(Session & { id: string }) | null> {
    const key = this.keyOf(token);
    return key ? this.parse(await this.redis.get(key.key), key.id) : null;
  }

  /** Where a token's session is kept, or null for a string that cannot be a token. */
  keyOf(token: string): { id: string; key: string } | null {
    if (!TOKEN.test(token)) return null;
    // Every signed-in request hashes its token; the same few tokens come back again and again.
    let id = this.ids.get(token);
    if (id === undefined) {
      id = sessionIdOf(token);
      if (this.ids.size >= 10_000) this.ids.clear();
      this.ids.set(token, id);
    }
    return { id, key: this.prefix + id };
  }

  /** A stored session, read by someone else (the rate-limit script reads it in the same round trip). */
  parse(text: string | null, id: string): (Session & { id: string }) | null {
    if (!text) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return null;
    }
    const parsed = sessionSchema.safeParse(value);
    return parsed.success ? { ...parsed.data, id } : null;
  }

  async revoke(id: string, userId: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.prefix + id)
      .zrem(this.indexPrefix + userId, id)
      .exec();
  }
}
