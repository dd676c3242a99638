import { ASSIST_CREDENTIAL_SCHEME, DEAL_STATES, LOCALES, mintAssistCredential } from '@amanat/core';
import { z } from 'zod';

/**
 * The API as the bot uses it. The bot never reads the database: it registers users and reads their
 * login links with the service secret, and acts for one user with a short-lived credential scoped to
 * their Telegram id. Only the fields the bot shows are checked; the rest of each answer is ignored.
 */

/** The API answered with a problem the bot can explain to the user (an unknown invite, an expired link). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail: string) {
    super(`${status} ${code}: ${detail}`);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = code;
  }
}

/** The API could not be reached, failed, or answered something unexpected: "try again later". */
export class ApiUnavailable extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ApiUnavailable';
  }
}

/** The Telegram profile the API stores: only these fields of an update's `from`. */
export interface TelegramProfile {
  id: number;
  first_name: string;
  last_name?: string | undefined;
  username?: string | undefined;
  language_code?: string | undefined;
}

const problemSchema = z.object({ code: z.string(), detail: z.string().optional() });

const userSchema = z.object({
  id: z.string(),
  displayName: z.string(),
  language: z.enum(LOCALES),
});
export type BotUser = z.infer<typeof userSchema>;

const role = z.enum(['seller', 'buyer']);
const assetSchema = z.object({ symbol: z.string(), decimals: z.number().int() });
const displaySchema = z.object({ price: z.string(), amountDue: z.string(), fee: z.string() });

const invitePreviewSchema = z.object({
  code: z.string(),
  title: z.string(),
  description: z.string(),
  creator: z.object({ role, displayName: z.string() }),
  openRole: role,
  yourRole: role.nullable(),
  asset: assetSchema,
  display: displaySchema,
  feePayer: z.enum(['seller', 'split']),
});
export type InvitePreview = z.infer<typeof invitePreviewSchema>;

const dealSchema = z.object({
  id: z.string(),
  title: z.string(),
  state: z.enum(DEAL_STATES),
  asset: assetSchema,
  display: displaySchema,
  yourRole: z.enum(['seller', 'buyer', 'arbitrator', 'operator']),
});
export type DealSummary = z.infer<typeof dealSchema>;

const dealPageSchema = z.object({ deals: z.array(dealSchema), nextCursor: z.string().nullable() });
export type DealPage = z.infer<typeof dealPageSchema>;

const loginLinkSchema = z.object({
  nonce: z.string(),
  requestedAt: z.iso.datetime(),
  device: z.string(),
  ip: z.string(),
  status: z.enum(['pending', 'confirmed', 'declined']),
  expiresAt: z.iso.datetime(),
});
export type LoginLink = z.infer<typeof loginLinkSchema>;

export interface ApiClient {
  /** Creates or refreshes the user (and marks them reachable by Telegram again). */
  registerUser(from: TelegramProfile): Promise<BotUser>;
  setLanguage(telegramId: number, language: (typeof LOCALES)[number]): Promise<BotUser>;
  invitePreview(telegramId: number, code: string): Promise<InvitePreview>;
  listDeals(telegramId: number, page: { limit: number; cursor?: string }): Promise<DealPage>;
  loginLink(nonce: string): Promise<LoginLink>;
  confirmLogin(nonce: string, from: TelegramProfile): Promise<LoginLink>;
  declineLogin(nonce: string): Promise<LoginLink>;
}

/** Only what the API keeps of a Telegram user; `from` carries more (is_bot, is_premium, …). */
export const profileOf = (from: TelegramProfile): TelegramProfile => ({
  id: from.id,
  first_name: from.first_name,
  ...(from.last_name ? { last_name: from.last_name } : {}),
  ...(from.username ? { username: from.username } : {}),
  ...(from.language_code ? { language_code: from.language_code } : {}),
});

export function createApiClient(opts: {
  baseUrl: string;
  serviceSecret: string;
  /** A request that takes longer counts as the API being down. */
  timeoutMs?: number;
}): ApiClient {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const service = `Bearer ${opts.serviceSecret}`;
  const asUser = (telegramId: number) =>
    `${ASSIST_CREDENTIAL_SCHEME} ${mintAssistCredential(opts.serviceSecret, BigInt(telegramId))}`;

  async function call<T extends z.ZodType>(
    schema: T,
    method: string,
    path: string,
    authorization: string,
    body?: unknown,
  ): Promise<z.infer<T>> {
    const what = `${method} ${path.replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/, '/…')}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(opts.baseUrl + path, {
        method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new ApiUnavailable(`${what}: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    if (res.status >= 500 || res.status === 429) throw new ApiUnavailable(`${what}: answered ${res.status}`);
    if (!res.ok) {
      const problem = problemSchema.safeParse(json);
      throw new ApiProblem(
        res.status,
        problem.success ? problem.data.code : 'unknown',
        problem.success ? (problem.data.detail ?? '') : '',
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ApiUnavailable(`${what}: unexpected answer (${parsed.error.message})`);
    return parsed.data;
  }

  const nonce = (n: string) => encodeURIComponent(n);
  return {
    registerUser: (from) =>
      call(userSchema, 'POST', '/api/internal/telegram-users', service, { telegramUser: profileOf(from) }),
    setLanguage: (telegramId, language) =>
      call(userSchema, 'PATCH', '/api/auth/me', asUser(telegramId), { language }),
    invitePreview: (telegramId, code) =>
      call(invitePreviewSchema, 'GET', `/api/invites/${encodeURIComponent(code)}`, asUser(telegramId)),
    listDeals: (telegramId, page) => {
      const query = new URLSearchParams({ limit: String(page.limit) });
      if (page.cursor) query.set('cursor', page.cursor);
      return call(dealPageSchema, 'GET', `/api/deals?${query}`, asUser(telegramId));
    },
    loginLink: (n) => call(loginLinkSchema, 'GET', `/api/internal/login-links/${nonce(n)}`, service),
    confirmLogin: (n, from) =>
      call(loginLinkSchema, 'POST', `/api/internal/login-links/${nonce(n)}/confirm`, service, {
        telegramUser: profileOf(from),
      }),
    declineLogin: (n) =>
      call(loginLinkSchema, 'POST', `/api/internal/login-links/${nonce(n)}/decline`, service, {}),
  };
}
