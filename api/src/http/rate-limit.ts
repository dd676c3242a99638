import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from './problem.ts';
import type { Caller } from './route.ts';

/**
 * Fixed one-minute windows kept in Redis, so every API process shares the count. If Redis is away, an
 * in-process limiter stands in (each process then counts alone) rather than refusing every request.
 */
function limiter(redis: Redis, prefix: string, name: string, perMinute: number) {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:rl:${name}`,
    points: perMinute,
    duration: 60,
    insuranceLimiter: new RateLimiterMemory({ points: perMinute, duration: 60 }),
  });
}

async function consume(rl: RateLimiterRedis, key: string, res: Response): Promise<void> {
  try {
    const r = await rl.consume(key);
    res.setHeader('RateLimit-Remaining', String(r.remainingPoints));
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new ApiError(429, 'rate_limited', `Too many requests; try again in ${retryAfter} s`, {
      headers: { 'Retry-After': String(retryAfter) },
      extra: { retryAfter },
    });
  }
}

export function createRateLimits(opts: {
  redis: Redis;
  prefix: string;
  perIpPerMinute: number;
  perUserPerMinute: number;
  /** Paths the per-IP limit leaves alone (the payment callback: its signature is the gate). */
  exemptPaths: readonly string[];
}): { perIp: RequestHandler; perUser: (caller: Caller, res: Response) => Promise<void> } {
  const ip = limiter(opts.redis, opts.prefix, 'ip', opts.perIpPerMinute);
  const user = limiter(opts.redis, opts.prefix, 'user', opts.perUserPerMinute);
  const exempt = new Set(opts.exemptPaths);
  return {
    perIp: async (req, res, next) => {
      if (exempt.has(req.path)) return next();
      await consume(ip, req.ip ?? 'unknown', res);
      next();
    },
    perUser: (caller, res) => consume(user, caller.user.id, res),
  };
}
