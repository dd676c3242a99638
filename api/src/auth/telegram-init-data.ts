import { createHmac, timingSafeEqual } from 'node:crypto';
import { personText } from '@amanat/core/api';
import { z } from 'zod';
import { ApiError } from '../http/problem.ts';

/**
 * Telegram Mini App init data (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app).
 * The hash is HMAC-SHA256 over the sorted `key=value` lines of every other field, keyed with
 * HMAC-SHA256("WebAppData", bot token); it is compared in constant time, and the data must be fresh.
 */
export const telegramUserSchema = z.object({
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  first_name: personText(256).default(''),
  last_name: personText(256).optional(),
  username: personText(64).optional(),
  language_code: z.string().max(35).optional(),
});
export type TelegramUser = z.infer<typeof telegramUserSchema>;

export interface ValidInitData {
  user: TelegramUser;
  authDate: Date;
}

/** Clock skew tolerated for an auth_date in the future. */
const FUTURE_SKEW_SEC = 60;
const MAX_INIT_DATA_LENGTH = 8192;

const invalid = (code: string, detail: string) => new ApiError(401, code, detail);

export const secretKeyFor = (botToken: string): Buffer =>
  createHmac('sha256', 'WebAppData').update(botToken).digest();

const dataCheckString = (params: URLSearchParams): string =>
  [...params.entries()]
    .filter(([key]) => key !== 'hash')
    .map(([key, value]) => `${key}=${value}`)
    .sort()
    .join('\n');

export function validateInitData(
  raw: string,
  opts: { secretKey: Buffer; maxAgeSec: number; now?: Date },
): ValidInitData {
  if (raw.length === 0 || raw.length > MAX_INIT_DATA_LENGTH) {
    throw invalid('init_data_malformed', 'The init data is empty or too long');
  }
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(raw);
  } catch {
    throw invalid('init_data_malformed', 'The init data is not a query string');
  }
  const hash = params.get('hash');
  if (!hash || !/^[0-9a-f]{64}$/.test(hash) || params.getAll('hash').length !== 1) {
    throw invalid('init_data_malformed', 'The init data has no valid hash');
  }
  const keys = [...params.keys()];
  if (new Set(keys).size !== keys.length) {
    throw invalid('init_data_malformed', 'The init data repeats a field');
  }
  const expected = createHmac('sha256', opts.secretKey).update(dataCheckString(params)).digest();
  if (!timingSafeEqual(expected, Buffer.from(hash, 'hex'))) {
    throw invalid('init_data_signature_invalid', 'The init data is not signed by this bot');
  }
  const authDateText = params.get('auth_date') ?? '';
  if (!/^\d{1,12}$/.test(authDateText))
    throw invalid('init_data_malformed', 'The init data has no auth_date');
  const authDate = new Date(Number(authDateText) * 1000);
  const nowSec = (opts.now ?? new Date()).getTime() / 1000;
  if (Number(authDateText) > nowSec + FUTURE_SKEW_SEC) {
    throw invalid('init_data_malformed', 'The init data is dated in the future');
  }
  if (nowSec - Number(authDateText) > opts.maxAgeSec) {
    throw invalid('init_data_expired', 'The init data is too old; reopen the app to sign in again');
  }
  let user: unknown;
  try {
    user = JSON.parse(params.get('user') ?? '');
  } catch {
    throw invalid('init_data_malformed', 'The init data has no user');
  }
  const parsed = telegramUserSchema.safeParse(user);
  if (!parsed.success) throw invalid('init_data_malformed', 'The init data user is malformed');
  return { user: parsed.data, authDate };
}

/** Signs init data the way Telegram does; for the development sign-in only. */
export function signInitData(fields: Record<string, string>, secretKey: Buffer): string {
  const params = new URLSearchParams(fields);
  params.set('hash', createHmac('sha256', secretKey).update(dataCheckString(params)).digest('hex'));
  return params.toString();
}
