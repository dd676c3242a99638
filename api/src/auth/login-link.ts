import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  LOGIN_LINK_DEVICE_MAX,
  loginLinkBody,
  loginLinkParams,
  loginLinkPendingSchema,
  loginLinkSessionSchema,
  loginLinkStatusSchema,
  loginLinkViewSchema,
  newLoginLinkSchema,
  POLL_SECRET_HEADER,
} from '@amanat/core/api';
import type { Request } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../http/problem.ts';
import { defineRoute, type RouteDef } from '../http/route.ts';
import { userFromTelegram } from './authenticate.ts';
import { issueSession } from './routes.ts';
import { telegramUserSchema } from './telegram-init-data.ts';

/**
 * Browser login through the bot. The browser asks for a link and gets two values: the nonce, which
 * travels in the public `t.me/<bot>?start=login_<nonce>` link, and the poll secret, which never leaves
 * the browser. The bot (through the assist service) confirms or declines the nonce for a Telegram user;
 * only a poll that also presents the poll secret can turn a confirmed nonce into a session, and only once.
 * Redis holds the sha256 of the poll secret, never the secret.
 */
export const LOGIN_LINK_TTL_SEC = 5 * 60;

/** 24 random bytes: 192 bits, 32 base64url characters, so "login_<nonce>" fits Telegram's 64-character start parameter. */
const newNonce = () => randomBytes(24).toString('base64url');
/** 32 random bytes: 256 bits. The prefix lets secret scanners recognise a leaked one. */
const newPollSecret = () => `lps_${randomBytes(32).toString('base64url')}`;

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

/** Constant-time check of a presented poll secret against the stored hash. */
function pollSecretMatches(given: string | undefined, storedHash: string | undefined): boolean {
  if (!given || !storedHash) return false;
  const expected = Buffer.from(storedHash, 'base64url');
  const actual = hashSecret(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What the bot shows the user: free text from a browser, so control characters go and it is bounded. */
function deviceDescription(given: string | undefined, req: Request): string {
  const text = (given ?? req.get('user-agent') ?? '')
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .trim()
    .slice(0, LOGIN_LINK_DEVICE_MAX)
    .trim();
  return text || 'Unknown device';
}

const notFound = () =>
  new ApiError(404, 'login_link_not_found', 'The login link is unknown or has expired; ask for a new one');

// The status changes are scripts so that each is one atomic step: two confirmations, or two polls, can
// never both see "pending" (or "confirmed and not yet used"). None of them creates a missing key, so an
// expired link stays gone.

// KEYS[1] link. ARGV[1] user id, ARGV[2] now (ISO).
const CONFIRM = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'pending' then
  redis.call('HSET', KEYS[1], 'status', 'confirmed', 'userId', ARGV[1], 'decidedAt', ARGV[2])
  return 'confirmed'
end
if status == 'confirmed' then
  if redis.call('HGET', KEYS[1], 'userId') == ARGV[1] then return 'confirmed' end
  return 'taken'
end
return status`;

// KEYS[1] link. ARGV[1] now (ISO).
const DECLINE = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'pending' then
  redis.call('HSET', KEYS[1], 'status', 'declined', 'decidedAt', ARGV[1])
  return 'declined'
end
return status`;

// KEYS[1] link. ARGV[1] now (ISO). Marks a confirmed link used and returns its user, exactly once.
const CONSUME = `
local f = redis.call('HMGET', KEYS[1], 'status', 'userId', 'consumedAt')
if not f[1] then return {'missing'} end
if f[1] ~= 'confirmed' then return {f[1]} end
if f[3] then return {'used'} end
redis.call('HSET', KEYS[1], 'consumedAt', ARGV[1])
return {'issued', f[2]}`;

const storedLinkSchema = z.object({
  requestedAt: z.string(),
  expiresAt: z.string(),
  device: z.string(),
  ip: z.string().default('unknown'),
  secretHash: z.string(),
  status: loginLinkStatusSchema,
});

export function loginLinkRoutes(ctx: ApiContext): RouteDef[] {
  const keyOf = (nonce: string) => `${ctx.config.REDIS_PREFIX}:login-link:${nonce}`;

  async function readLink(nonce: string) {
    const fields = await ctx.redis.hgetall(keyOf(nonce));
    const parsed = storedLinkSchema.safeParse(fields);
    if (!parsed.success) throw notFound();
    return parsed.data;
  }

  const view = (nonce: string, link: z.infer<typeof storedLinkSchema>) => ({
    nonce,
    requestedAt: link.requestedAt,
    device: link.device,
    ip: link.ip,
    status: link.status,
    expiresAt: link.expiresAt,
  });

  const runScript = async (script: string, nonce: string, ...args: string[]) =>
    (await ctx.redis.eval(script, 1, keyOf(nonce), ...args)) as unknown;

  return [
    defineRoute({
      method: 'post',
      path: '/api/auth/login-link',
      operationId: 'createLoginLink',
      summary: 'Start a browser login through the Telegram bot',
      description:
        'Returns a link to open in Telegram (`https://t.me/<bot>?start=login_<nonce>`) and a poll secret. ' +
        'The nonce is public; the poll secret must stay in this browser: poll GET /api/auth/login-link/{nonce} ' +
        `with header \`${POLL_SECRET_HEADER}: <pollSecret>\` until the user confirms in the bot. The link ` +
        `expires after ${LOGIN_LINK_TTL_SEC / 60} minutes. \`device\` is what the bot shows the user ` +
        '(defaults to the User-Agent).',
      tag: 'auth',
      auth: 'public',
      status: 201,
      body: loginLinkBody,
      response: newLoginLinkSchema,
      handler: async ({ body, req }) => {
        const nonce = newNonce();
        const pollSecret = newPollSecret();
        const now = Date.now();
        const expiresAt = new Date(now + LOGIN_LINK_TTL_SEC * 1000).toISOString();
        const key = keyOf(nonce);
        const results = await ctx.redis
          .multi()
          .hset(key, {
            requestedAt: new Date(now).toISOString(),
            expiresAt,
            device: deviceDescription(body.device, req),
            ip: req.ip ?? 'unknown',
            secretHash: hashSecret(pollSecret).toString('base64url'),
            status: 'pending',
          })
          .pexpire(key, LOGIN_LINK_TTL_SEC * 1000)
          .exec();
        const failed = results?.find(([err]) => err);
        if (!results || failed) throw failed?.[0] ?? new Error('login link transaction aborted');
        return {
          nonce,
          pollSecret,
          link: `https://t.me/${ctx.config.TELEGRAM_BOT_USERNAME}?start=login_${nonce}`,
          expiresAt,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/login-link/:nonce',
      operationId: 'pollLoginLink',
      summary: 'Poll a login link for its session',
      description:
        `Requires header \`${POLL_SECRET_HEADER}: <pollSecret>\` from POST /api/auth/login-link (401 ` +
        '`poll_secret_invalid` without it or with another). 202 while the user has not answered in the bot; ' +
        '200 with a session once, after the user confirmed; afterwards 410 `login_link_used`. 403 ' +
        '`login_link_declined` when the user declined; 404 `login_link_not_found` when unknown or expired.',
      tag: 'auth',
      auth: 'public',
      params: loginLinkParams,
      response: loginLinkSessionSchema,
      otherResponses: {
        202: {
          description: 'Not confirmed yet: poll again in a few seconds',
          schema: loginLinkPendingSchema,
        },
      },
      errors: [401, 403, 404, 410],
      handler: async ({ params, req, res }) => {
        const link = await readLink(params.nonce);
        if (!pollSecretMatches(req.get(POLL_SECRET_HEADER), link.secretHash)) {
          throw new ApiError(
            401,
            'poll_secret_invalid',
            `Send the poll secret of this login link in ${POLL_SECRET_HEADER}`,
          );
        }
        if (link.status === 'pending') {
          res.status(202);
          return { status: 'pending', expiresAt: link.expiresAt };
        }
        if (link.status === 'declined') {
          throw new ApiError(403, 'login_link_declined', 'The login was declined in Telegram');
        }
        const consumed = (await runScript(CONSUME, params.nonce, new Date().toISOString())) as [
          string,
          string?,
        ];
        if (consumed[0] === 'issued' && consumed[1]) {
          return { status: 'confirmed', ...(await issueSession(ctx, consumed[1], 'login_link')) };
        }
        if (consumed[0] === 'missing') throw notFound();
        throw new ApiError(410, 'login_link_used', 'This login link has already given its session');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/internal/login-links/:nonce',
      operationId: 'getLoginLink',
      summary: 'A login link as the bot shows it: when and from which device it was asked (assist only)',
      tag: 'internal',
      auth: 'service',
      params: loginLinkParams,
      response: loginLinkViewSchema,
      errors: [401, 404],
      handler: async ({ params }) => view(params.nonce, await readLink(params.nonce)),
    }),
    defineRoute({
      method: 'post',
      path: '/api/internal/login-links/:nonce/confirm',
      operationId: 'confirmLoginLink',
      summary: 'The Telegram user confirmed the login in the bot (assist only)',
      description:
        'Creates or refreshes the user and binds the link to them. Repeating it for the same user is ' +
        'harmless; for another user it is 409 `login_link_already_used`, and after a decline 409 ' +
        '`login_link_declined`.',
      tag: 'internal',
      auth: 'service',
      params: loginLinkParams,
      body: z.strictObject({ telegramUser: telegramUserSchema }),
      response: loginLinkViewSchema,
      errors: [401, 404, 409],
      handler: async ({ params, body }) => {
        // Check first, so an unknown or expired nonce creates no user.
        await readLink(params.nonce);
        const user = await userFromTelegram(ctx.pool, body.telegramUser, ctx.config.STORAGE_MODE);
        const outcome = await runScript(CONFIRM, params.nonce, user.id, new Date().toISOString());
        if (outcome === 'missing') throw notFound();
        if (outcome === 'taken') {
          throw new ApiError(409, 'login_link_already_used', 'Another user has already confirmed this login');
        }
        if (outcome === 'declined') {
          throw new ApiError(409, 'login_link_declined', 'This login was declined');
        }
        return view(params.nonce, await readLink(params.nonce));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/internal/login-links/:nonce/decline',
      operationId: 'declineLoginLink',
      summary: 'The Telegram user declined the login in the bot (assist only)',
      description: 'Repeating it is harmless; after a confirmation it is 409 `login_link_already_used`.',
      tag: 'internal',
      auth: 'service',
      params: loginLinkParams,
      response: loginLinkViewSchema,
      errors: [401, 404, 409],
      handler: async ({ params }) => {
        const outcome = await runScript(DECLINE, params.nonce, new Date().toISOString());
        if (outcome === 'missing') throw notFound();
        if (outcome === 'confirmed') {
          throw new ApiError(409, 'login_link_already_used', 'This login has already been confirmed');
        }
        return view(params.nonce, await readLink(params.nonce));
      },
    }),
  ];
}
