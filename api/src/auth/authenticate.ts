import { createHash, timingSafeEqual } from 'node:crypto';
import { verifyAssistCredential } from '@amanat/core';
import { getUserByTelegramId, type Pool, type StorageMode, upsertTelegramUser } from '@amanat/platform';
import type { Request, Response } from 'express';
import { ApiError } from '../http/problem.ts';
import type { RateLimits } from '../http/rate-limit.ts';
import type { Caller } from '../http/route.ts';
import { type SessionStore, type SessionUser, sessionUser } from './sessions.ts';
import { type TelegramUser, validateInitData } from './telegram-init-data.ts';

export interface StaffIds {
  operators: ReadonlySet<bigint>;
  arbitrators: ReadonlySet<bigint>;
}

const unauthenticated = (code: string, detail: string) =>
  new ApiError(401, code, detail, { headers: { 'WWW-Authenticate': 'Bearer realm="amanat"' } });

export const callerFor = (user: SessionUser, staff: StaffIds, sessionId: string | null): Caller => ({
  user,
  operator: user.telegramId !== null && staff.operators.has(user.telegramId),
  arbitrator: user.telegramId !== null && staff.arbitrators.has(user.telegramId),
  sessionId,
});

/** The Telegram account's user row, created on first sight and refreshed when the profile changed. */
export const userFromTelegram = (pool: Pool, tg: TelegramUser, storageMode: StorageMode) =>
  upsertTelegramUser(
    pool,
    {
      telegramId: BigInt(tg.id),
      username: tg.username ?? null,
      displayName: [tg.first_name, tg.last_name].filter(Boolean).join(' '),
      ...(tg.language_code ? { language: tg.language_code } : {}),
    },
    { storageMode },
  );

export interface Authenticator {
  /** The caller of a request, without counting it against any limit (WebSocket, queue board). */
  authenticate(req: Request): Promise<Caller>;
  /** The caller, counting the request against the IP and user limits (every signed-in route). */
  admit(req: Request, res: Response): Promise<Caller>;
}

const NO_STAFF: StaffIds = { operators: new Set(), arbitrators: new Set() };

const MALFORMED = 'The Authorization header must be "Bearer <token>" or "tma <init data>"';
const SESSION_INVALID = 'The session is unknown, expired or signed out';
const SCHEMES = ['bearer', 'tma', 'assist'] as const;
type Scheme = (typeof SCHEMES)[number];

function credentialsOf(req: Request): { scheme: Scheme; credentials: string } {
  const header = req.get('authorization');
  if (!header) throw unauthenticated('auth_required', 'Sign in: send Authorization: Bearer <token>');
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase() as Scheme;
  const credentials = header.slice(space + 1).trim();
  if (space < 0 || credentials.length === 0 || !SCHEMES.includes(scheme)) {
    throw unauthenticated('auth_malformed', MALFORMED);
  }
  return { scheme, credentials };
}

/**
 * Resolves `Authorization: Bearer <session token>` or `Authorization: tma <raw init data>` to the
 * caller. Anything else, or anything invalid, is a 401 with a code that says which.
 */
export function createAuthenticator(deps: {
  pool: Pool;
  sessions: SessionStore;
  limits: RateLimits;
  staff: StaffIds;
  secretKey: Buffer;
  maxAgeSec: number;
  storageMode: StorageMode;
  /** ASSIST_SERVICE_SECRET: the key of the bot's per-user `Assist` credentials. */
  serviceSecret: string;
}): Authenticator {
  const fromInitData = async (initData: string) => {
    const valid = validateInitData(initData, { secretKey: deps.secretKey, maxAgeSec: deps.maxAgeSec });
    return callerFor(await userFromTelegram(deps.pool, valid.user, deps.storageMode), deps.staff, null);
  };
  // The bot acting for one Telegram user. The user must exist already: the bot registers users through
  // the internal endpoint, which is the one place a Telegram profile enters from the bot. The bot only
  // reads and changes the user's language, so that is all the credential allows, and never with staff
  // powers: a compromised assist process must not move money or judge disputes for anyone.
  const fromAssist = async (credential: string, req: Request) => {
    if (
      !(
        req.method === 'GET' ||
        req.method === 'HEAD' ||
        (req.method === 'PATCH' && req.path === '/api/auth/me')
      )
    ) {
      throw new ApiError(
        403,
        'assist_read_only',
        'Assist credentials only read, and change the language; act in the app instead',
      );
    }
    const check = verifyAssistCredential(deps.serviceSecret, credential);
    if (!check.ok) {
      throw unauthenticated(
        `assist_credential_${check.reason}`,
        'The assist credential is malformed, expired or not signed with the service secret',
      );
    }
    const user = await getUserByTelegramId(deps.pool, check.telegramId);
    if (!user) throw unauthenticated('assist_user_unknown', 'No user has this Telegram id yet');
    return callerFor(user, NO_STAFF, null);
  };
  return {
    async authenticate(req) {
      const { scheme, credentials } = credentialsOf(req);
      if (scheme === 'tma') return fromInitData(credentials);
      if (scheme === 'assist') return fromAssist(credentials, req);
      const session = await deps.sessions.get(credentials);
      if (!session) throw unauthenticated('session_invalid', SESSION_INVALID);
      return callerFor(sessionUser(session), deps.staff, session.id);
    },
    async admit(req, res) {
      const { scheme, credentials } = credentialsOf(req);
      if (scheme === 'tma') {
        await deps.limits.limitIp(req, res);
        const caller = await fromInitData(credentials);
        await deps.limits.limitUser(caller.user.id, res);
        return caller;
      }
      if (scheme === 'assist') {
        // All bot traffic comes from the assist service's address, so only the user's own limit applies.
        const caller = await fromAssist(credentials, req);
        await deps.limits.limitUser(caller.user.id, res);
        return caller;
      }
      const key = deps.sessions.keyOf(credentials);
      if (!key) {
        await deps.limits.limitIp(req, res);
        throw unauthenticated('session_invalid', SESSION_INVALID);
      }
      const session = deps.sessions.parse(await deps.limits.admitSession(key.key, req, res), key.id);
      if (!session) throw unauthenticated('session_invalid', SESSION_INVALID);
      return callerFor(sessionUser(session), deps.staff, session.id);
    },
  };
}

/** Constant-time check of a shared secret, without leaking its length through an early exit. */
export function secretMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function createServiceAuthenticator(secret: string): (req: Request) => void {
  return (req) => {
    const header = req.get('authorization') ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
    if (!token || !secretMatches(token, secret)) {
      throw new ApiError(401, 'service_auth_required', 'This endpoint is for Amanat services only');
    }
  };
}
