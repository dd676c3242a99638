import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { ApiError } from './problem.ts';

/**
 * Rate limits in Redis, shared by every API process: fixed one-minute windows per client IP and per
 * signed-in user. For a request with a session token, one script reads the session and counts the IP
 * and the user in a single round trip: authentication and both limits cost one Redis call, which is most
 * of what a signed-in read costs.
 *
 * The script builds the user's counter key from the session it read, so it is not Redis Cluster safe;
 * Amanat runs one Redis (DESIGN: BullMQ on one instance).
 */
const WINDOW_MS = 60_000;

const COUNT = `
local function count(key, window)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, window) end
  return n
end`;

// KEYS[1] counter. ARGV[1] window ms.
const COUNT_ONE = `${COUNT}
local n = count(KEYS[1], ARGV[1])
return {n, redis.call('PTTL', KEYS[1])}`;

// KEYS[1] session, KEYS[2] IP counter. ARGV: window ms, user counter key prefix, IP limit, user limit.
// Sessions are stored as JSON that starts with their userId (sessions.ts writes it first), so the script
// reads it with a pattern instead of decoding JSON; time-to-live is only looked up for a refusal.
const ADMIT_SESSION = `${COUNT}
local ip = count(KEYS[2], ARGV[1])
local ipTtl = 0
if ip > tonumber(ARGV[3]) then ipTtl = redis.call('PTTL', KEYS[2]) end
local session = redis.call('GET', KEYS[1])
if not session then return {ip, ipTtl, false, 0, 0} end
local userId = string.match(session, '^{"userId":"([0-9a-f%-]+)"')
if not userId then return {ip, ipTtl, false, 0, 0} end
local userKey = ARGV[2] .. userId
local user = count(userKey, ARGV[1])
local userTtl = 0
if user > tonumber(ARGV[4]) then userTtl = redis.call('PTTL', userKey) end
return {ip, ipTtl, session, user, userTtl}`;

type ScriptRedis = Redis & {
  amanatCount(key: string, windowMs: number): Promise<[number, number]>;
  amanatAdmitSession(
    sessionKey: string,
    ipKey: string,
    windowMs: number,
    userPrefix: string,
    ipLimit: number,
    userLimit: number,
  ): Promise<[number, number, string | null, number, number]>;
};

export interface RateLimits {
  /** Counts a request against its client IP; 429 when over the limit. */
  limitIp(req: Request, res: Response): Promise<void>;
  /** Counts a request from an address outside Express (WebSocket upgrades); false when over the limit. */
  allowIp(ip: string): Promise<boolean>;
  /** The same as Express middleware, for paths outside the route registry. */
  perIp: RequestHandler;
  /** Counts a request against a user (for callers who sent init data rather than a session). */
  limitUser(userId: string, res: Response): Promise<void>;
  /**
   * Reads a session (by its Redis key) while counting the request against the IP and, when the session
   * exists, its user. Returns the stored session text, or null when there is none.
   */
  admitSession(sessionKey: string, req: Request, res: Response): Promise<string | null>;
}

function tooMany(ttlMs: number): ApiError {
  const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
  return new ApiError(429, 'rate_limited', `Too many requests; try again in ${retryAfter} s`, {
    headers: { 'Retry-After': String(retryAfter) },
    extra: { retryAfter },
  });
}

export function createRateLimits(opts: {
  redis: Redis;
  prefix: string;
  perIpPerMinute: number;
  perUserPerMinute: number;
  /** Paths the per-IP middleware leaves alone (the payment callback: its signature is the gate). */
  exemptPaths: readonly string[];
}): RateLimits {
  // Defined once per connection; ioredis sends the scripts by hash and loads them when Redis lacks them.
  if (!(opts.redis as unknown as { amanatAdmitSession?: unknown }).amanatAdmitSession) {
    opts.redis.defineCommand('amanatCount', { numberOfKeys: 1, lua: COUNT_ONE });
    opts.redis.defineCommand('amanatAdmitSession', { numberOfKeys: 2, lua: ADMIT_SESSION });
  }
  const redis = opts.redis as unknown as ScriptRedis;
  const keyOfIp = (ip: string | undefined) => `${opts.prefix}:rl:ip:${ip ?? 'unknown'}`;
  const ipKey = (req: Request) => keyOfIp(req.ip);
  const userPrefix = `${opts.prefix}:rl:user:`;
  const exempt = new Set(opts.exemptPaths);

  const check = (count: number, ttlMs: number, limit: number) => {
    if (count > limit) throw tooMany(ttlMs);
    return limit - count;
  };

  const limitIp = async (req: Request, res: Response) => {
    const [count, ttl] = await redis.amanatCount(ipKey(req), WINDOW_MS);
    res.setHeader('RateLimit-Remaining', String(check(count, ttl, opts.perIpPerMinute)));
  };

  return {
    limitIp,
    async allowIp(ip) {
      const [count] = await redis.amanatCount(keyOfIp(ip), WINDOW_MS);
      return count <= opts.perIpPerMinute;
    },
    perIp: async (req, res, next) => {
      if (!exempt.has(req.path)) await limitIp(req, res);
      next();
    },
    async limitUser(userId, res) {
      const [count, ttl] = await redis.amanatCount(userPrefix + userId, WINDOW_MS);
      const left = check(count, ttl, opts.perUserPerMinute);
      const ipLeft = Number(res.getHeader('RateLimit-Remaining') ?? left);
      res.setHeader('RateLimit-Remaining', String(Math.min(left, ipLeft)));
    },
    async admitSession(sessionKey, req, res) {
      const [ip, ipTtl, session, user, userTtl] = await redis.amanatAdmitSession(
        sessionKey,
        ipKey(req),
        WINDOW_MS,
        userPrefix,
        opts.perIpPerMinute,
        opts.perUserPerMinute,
      );
      const ipLeft = check(ip, ipTtl, opts.perIpPerMinute);
      const userLeft = session ? check(user, userTtl, opts.perUserPerMinute) : ipLeft;
      res.setHeader('RateLimit-Remaining', String(Math.min(ipLeft, userLeft)));
      return session;
    },
  };
}
