import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { callerFor } from '../auth/authenticate.ts';
import { sessionUser } from '../auth/sessions.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, sendProblem, toApiError } from '../http/problem.ts';
import type { Caller } from '../http/route.ts';
import { createAdminCredentialCheck, parseBasicAuthorization } from './basic-auth.ts';

export const BOARD_PATH = '/admin/queues';
/** Holds an operator's session token for the browser, which cannot send a Bearer header on navigation. */
export const BOARD_COOKIE = 'amanat_board';
const BASIC_CHALLENGE = 'Basic realm="amanat-admin", charset="UTF-8"';

const unauthenticated = (code: string, detail: string) =>
  new ApiError(401, code, detail, { headers: { 'WWW-Authenticate': BASIC_CHALLENGE } });

/** Failed break-glass attempts allowed per client IP in the window below, before every attempt waits. */
export const BASIC_FAILURES_ALLOWED = 10;
const BASIC_FAILURE_WINDOW_SEC = 15 * 60;

/**
 * Failed attempts per key in a fixed window, kept in Redis so every API process shares the count. When
 * Redis does not answer, the process counts alone rather than letting guesses through uncounted.
 */
/**
 * Basic-auth attempts per key (client IP) in a fixed window. An attempt is counted before its password
 * is checked and handed back when it succeeds, so guesses sent in parallel cannot all slip under the
 * limit. Falls back to an in-process count when Redis is away.
 */
function attemptCounter(redis: Redis, prefix: string, windowSec: number) {
  const local = new Map<string, { count: number; resetAt: number }>();
  const localEntry = (key: string) => {
    const now = Date.now();
    let entry = local.get(key);
    if (!entry || entry.resetAt <= now) {
      if (local.size >= 10_000) local.clear();
      entry = { count: 0, resetAt: now + windowSec * 1000 };
      local.set(key, entry);
    }
    return entry;
  };
  return {
    /** Counts one attempt; returns how many the window holds now and how long until it ends. */
    async take(key: string): Promise<{ count: number; msLeft: number }> {
      try {
        // SET NX starts the window once; INCR keeps its expiry.
        const [, [, count], [, ttl]] = (await redis
          .multi()
          .set(prefix + key, '0', 'EX', windowSec, 'NX')
          .incr(prefix + key)
          .pttl(prefix + key)
          .exec()) as [unknown, [unknown, number], [unknown, number]];
        return { count, msLeft: Math.max(0, ttl) };
      } catch {
        const entry = localEntry(key);
        entry.count += 1;
        return { count: entry.count, msLeft: entry.resetAt - Date.now() };
      }
    },
    /** A successful sign-in does not count against the limit. */
    async giveBack(key: string): Promise<void> {
      try {
        await redis.decr(prefix + key);
      } catch {
        localEntry(key).count -= 1;
      }
    },
  };
}

/** scrypt checks running at once; more are refused rather than queued on the thread pool. */
const MAX_CONCURRENT_PASSWORD_CHECKS = 4;

function cookieValue(req: Request, name: string): string | null {
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Who may look at the board: an operator (their session) or the break-glass admin. */
type Viewer = { kind: 'operator'; caller: Caller } | { kind: 'admin' };

/**
 * Gates everything under /admin/queues. Accepted: `Authorization: Bearer|tma` of an operator, the
 * board cookie holding an operator's session token (re-checked in Redis on every request, so a
 * sign-out ends it), or `Authorization: Basic` with ADMIN_USER and the password behind
 * ADMIN_PASSWORD_HASH. Failed basic attempts are limited per IP, since that password is the one
 * credential here a person chose.
 */
export function createBoardAccess(
  ctx: ApiContext,
  authenticate: (req: Request) => Promise<Caller>,
): { gate: RequestHandler; startSession: RequestHandler; endSession: RequestHandler } {
  const checkAdmin = createAdminCredentialCheck({
    user: ctx.config.ADMIN_USER,
    passwordHash: ctx.config.ADMIN_PASSWORD_HASH,
  });
  let checking = 0;
  const attempts = attemptCounter(
    ctx.redis,
    `${ctx.config.REDIS_PREFIX}:rl:admin-basic-fail:`,
    BASIC_FAILURE_WINDOW_SEC,
  );

  const tooManyFailures = (msBeforeNext: number) => {
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new ApiError(429, 'rate_limited', `Too many failed sign-ins; try again in ${retryAfter} s`, {
      headers: { 'Retry-After': String(retryAfter) },
      extra: { retryAfter },
    });
  };

  async function basicViewer(req: Request): Promise<Viewer> {
    const ip = req.ip ?? 'unknown';
    // Counted and refused before scrypt runs, so a guesser can neither go on nor make the server burn CPU.
    const seen = await attempts.take(ip);
    if (seen.count > BASIC_FAILURES_ALLOWED) throw tooManyFailures(seen.msLeft);
    if (checking >= MAX_CONCURRENT_PASSWORD_CHECKS) {
      await attempts.giveBack(ip);
      throw tooManyFailures(1000);
    }
    const credentials = parseBasicAuthorization(req.get('authorization'));
    checking += 1;
    let ok = false;
    try {
      ok = credentials !== null && (await checkAdmin(credentials.user, credentials.password));
    } finally {
      checking -= 1;
    }
    if (ok) {
      await attempts.giveBack(ip);
      return { kind: 'admin' };
    }
    ctx.logger.warn({ ip }, 'bull-board basic auth failed');
    throw unauthenticated('admin_credentials_invalid', 'The admin user name or password is wrong');
  }

  async function cookieViewer(token: string, res: Response): Promise<Viewer> {
    const session = await ctx.sessions.get(token);
    if (!session) {
      res.clearCookie(BOARD_COOKIE, { path: BOARD_PATH });
      throw unauthenticated('session_invalid', 'The session is unknown, expired or signed out');
    }
    return { kind: 'operator', caller: callerFor(sessionUser(session), ctx.staff, session.id) };
  }

  async function viewerOf(req: Request, res: Response): Promise<Viewer> {
    const header = req.get('authorization');
    if (header !== undefined) {
      if (/^basic(\s|$)/i.test(header)) return basicViewer(req);
      try {
        return { kind: 'operator', caller: await authenticate(req) };
      } catch (err) {
        const apiErr = toApiError(err);
        // Keep the reason, but challenge with Basic so a browser offers its sign-in dialog.
        if (apiErr.status === 401) throw unauthenticated(apiErr.code, apiErr.message);
        throw apiErr;
      }
    }
    const token = cookieValue(req, BOARD_COOKIE);
    if (token) return cookieViewer(token, res);
    throw unauthenticated(
      'auth_required',
      'Operators only: sign in with an operator session (Authorization header or the board cookie from ' +
        `POST ${BOARD_PATH}/session), or with the admin user name and password`,
    );
  }

  /**
   * Basic credentials and the cookie are sent by the browser on its own, so a state-changing request
   * (retry, clean, obliterate) must come from the board's own pages, not from another site.
   */
  function refuseCrossSite(req: Request): void {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const crossSite = site !== undefined && site !== 'same-origin';
    let foreignOrigin = false;
    if (origin !== undefined) {
      try {
        foreignOrigin = new URL(origin).host !== req.get('host');
      } catch {
        foreignOrigin = true;
      }
    }
    if (crossSite || foreignOrigin) {
      throw new ApiError(403, 'cross_site_request', 'Board actions must come from the board itself');
    }
  }

  const gate: RequestHandler = async (req, res, next) => {
    try {
      const viewer = await viewerOf(req, res);
      if (viewer.kind === 'operator' && !viewer.caller.operator) {
        throw new ApiError(403, 'operator_only', 'Only operators may see the queue board');
      }
      refuseCrossSite(req);
    } catch (err) {
      return sendProblem(res, toApiError(err));
    }
    next();
  };

  /** An operator trades their Authorization header for the board cookie, then opens the board. */
  const startSession: RequestHandler = async (req, res) => {
    try {
      const caller = await authenticate(req);
      if (!caller.operator)
        throw new ApiError(403, 'operator_only', 'Only operators may see the queue board');
      const header = req.get('authorization') ?? '';
      // A tma caller has no session token to share, so it gets one of its own.
      const token = /^bearer\s/i.test(header)
        ? header.slice(header.indexOf(' ') + 1).trim()
        : (await ctx.sessions.create(caller.user, 'telegram')).token;
      res.cookie(BOARD_COOKIE, token, {
        httpOnly: true,
        secure: req.secure,
        sameSite: 'strict',
        path: BOARD_PATH,
        maxAge: ctx.config.SESSION_TTL_SEC * 1000,
      });
      res.status(200).json({ board: `${BOARD_PATH}/` });
    } catch (err) {
      sendProblem(res, toApiError(err));
    }
  };

  const endSession: RequestHandler = (_req, res) => {
    res.clearCookie(BOARD_COOKIE, { path: BOARD_PATH });
    res.status(204).end();
  };

  return { gate, startSession, endSession };
}
