import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Sessions live in Redis under the hash of their token, so a copy of Redis holds no usable token.
 * They expire on their own and are revoked by deleting the key.
 */
const sessionSchema = z.object({
  userId: z.uuid(),
  createdAt: z.iso.datetime(),
  via: z.enum(['telegram', 'login_link', 'dev']),
});
export type Session = z.infer<typeof sessionSchema>;

export const sessionIdOf = (token: string): string => createHash('sha256').update(token).digest('base64url');

const TOKEN = /^ses_[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSec: number;

  constructor(opts: { redis: Redis; prefix: string; ttlSec: number }) {
    this.redis = opts.redis;
    this.prefix = `${opts.prefix}:session:`;
    this.ttlSec = opts.ttlSec;
  }

  async create(userId: string, via: Session['via']): Promise<{ token: string; expiresAt: Date }> {
    const token = `ses_${randomBytes(32).toString('base64url')}`;
    const session: Session = { userId, createdAt: new Date().toISOString(), via };
    await this.redis.set(this.prefix + sessionIdOf(token), JSON.stringify(session), 'EX', this.ttlSec);
    return { token, expiresAt: new Date(Date.now() + this.ttlSec * 1000) };
  }

  /** The session behind a token, or null when it is unknown, expired, revoked or malformed. */
  async get(token: string): Promise<(Session & { id: string }) | null> {
    if (!TOKEN.test(token)) return null;
    const id = sessionIdOf(token);
    const text = await this.redis.get(this.prefix + id);
    if (!text) return null;
    const parsed = sessionSchema.safeParse(JSON.parse(text));
    return parsed.success ? { ...parsed.data, id } : null;
  }

  async revoke(id: string): Promise<void> {
    await this.redis.del(this.prefix + id);
  }
}
