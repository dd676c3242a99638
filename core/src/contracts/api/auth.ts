import { z } from 'zod';
import { LOCALES } from '../../i18n/locale.ts';
import { personText } from './text.ts';

/** Signing in (Telegram init data, the bot's login link, development sign-in) and the user's own settings. */

export const userViewSchema = z
  .object({
    id: z.uuid(),
    telegramId: z.string().nullable().describe('Decimal string: Telegram ids exceed 2^53 in principle'),
    username: z.string().nullable(),
    displayName: z.string(),
    language: z.enum(LOCALES).describe('The language Amanat writes to this user in'),
    roles: z.array(z.enum(['operator', 'arbitrator'])),
  })
  .meta({ id: 'User' });

export const sessionViewSchema = z
  .object({ token: z.string(), expiresAt: z.iso.datetime(), user: userViewSchema })
  .meta({ id: 'Session' });

/** POST /api/auth/telegram: the Mini App's raw init data. */
export const telegramLoginBody = z.strictObject({ initData: z.string().min(1).max(8192) });

/** PATCH /api/auth/me. */
export const languageBody = z.strictObject({ language: z.enum(LOCALES) });

/** POST /api/auth/dev, which exists only with DEV_SIGN_IN=true and never in production. */
export const devSignInBody = z.strictObject({
  telegramId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  firstName: personText(64).min(1).default('Dev'),
  username: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,32}$/)
    .optional(),
});
export const devSessionSchema = sessionViewSchema.extend({ initData: z.string() });

// ---- login link: a browser signs in through the bot ---------------------------------------------------

/** The header a browser polls its login link with, carrying the poll secret from `newLoginLinkSchema`. */
export const POLL_SECRET_HEADER = 'X-Poll-Secret';

/** The longest device description a browser may send; the bot shows it to the user. */
export const LOGIN_LINK_DEVICE_MAX = 200;

/** 24 random bytes: 192 bits, 32 base64url characters, so "login_<nonce>" fits Telegram's 64-character start parameter. */
const NONCE = /^[A-Za-z0-9_-]{32}$/;

export const loginLinkParams = z.strictObject({ nonce: z.string().regex(NONCE, 'not a login link nonce') });

export const loginLinkBody = z.strictObject({ device: z.string().max(LOGIN_LINK_DEVICE_MAX).optional() });

export const loginLinkStatusSchema = z.enum(['pending', 'confirmed', 'declined']);

export const loginLinkViewSchema = z
  .object({
    nonce: z.string(),
    requestedAt: z.iso.datetime(),
    device: z.string(),
    /**
     * The address the request came from, as the API saw it. The device text is the requester's own
     * claim; the address is not, so the bot shows both and a user can tell a stranger's request.
     */
    ip: z.string(),
    status: loginLinkStatusSchema,
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'LoginLink' });

export const newLoginLinkSchema = z
  .object({
    nonce: z.string(),
    pollSecret: z.string(),
    link: z.url(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'NewLoginLink' });

export const loginLinkSessionSchema = sessionViewSchema
  .extend({ status: z.literal('confirmed') })
  .meta({ id: 'LoginLinkSession' });

/** The 202 answer while the user has not answered in the bot. */
export const loginLinkPendingSchema = z.object({ status: z.literal('pending'), expiresAt: z.iso.datetime() });

export type User = z.output<typeof userViewSchema>;
export type Session = z.output<typeof sessionViewSchema>;
export type DevSession = z.output<typeof devSessionSchema>;
export type LoginLinkStatus = z.output<typeof loginLinkStatusSchema>;
export type LoginLink = z.output<typeof loginLinkViewSchema>;
export type NewLoginLink = z.output<typeof newLoginLinkSchema>;
export type LoginLinkSession = z.output<typeof loginLinkSessionSchema>;
export type LoginLinkPending = z.output<typeof loginLinkPendingSchema>;

export type TelegramLoginInput = z.input<typeof telegramLoginBody>;
export type LanguageInput = z.input<typeof languageBody>;
export type DevSignInInput = z.input<typeof devSignInBody>;
export type LoginLinkInput = z.input<typeof loginLinkBody>;
export type LoginLinkParams = z.input<typeof loginLinkParams>;
