import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The credential the assist service (the bot) presents to the API on a Telegram user's behalf:
 * `Authorization: Assist <telegramId>.<expires unix s>.<HMAC-SHA256(ASSIST_SERVICE_SECRET)>`. It acts for
 * that one Telegram id, for at most ASSIST_CREDENTIAL_TTL_SEC, so a leaked header is worth little; the
 * shared secret itself never travels.
 */
export const ASSIST_CREDENTIAL_SCHEME = 'Assist';
export const ASSIST_CREDENTIAL_TTL_SEC = 300;

const mac = (secret: string, telegramId: bigint, expires: number) =>
  createHmac('sha256', secret).update(`amanat-assist-user:${telegramId}:${expires}`).digest();

export function mintAssistCredential(secret: string, telegramId: bigint, now = new Date()): string {
  const expires = Math.floor(now.getTime() / 1000) + ASSIST_CREDENTIAL_TTL_SEC;
  return `${telegramId}.${expires}.${mac(secret, telegramId, expires).toString('base64url')}`;
}

export type AssistCredentialCheck =
  | { ok: true; telegramId: bigint }
  | { ok: false; reason: 'malformed' | 'expired' | 'signature_invalid' };

/** Checks a credential (the part after the scheme); the MAC is compared in constant time. */
export function verifyAssistCredential(
  secret: string,
  credential: string,
  now = new Date(),
): AssistCredentialCheck {
  const m = /^(\d{1,20})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(credential);
  if (!m) return { ok: false, reason: 'malformed' };
  const telegramId = BigInt(m[1] as string);
  const expires = Number(m[2]);
  const given = Buffer.from(m[3] as string, 'base64url');
  const expected = mac(secret, telegramId, expires);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature_invalid' };
  const nowSec = Math.floor(now.getTime() / 1000);
  // Not before expiry, and not minted further ahead than a credential lives (a clock-skew allowance).
  if (expires < nowSec || expires > nowSec + ASSIST_CREDENTIAL_TTL_SEC + 60)
    return { ok: false, reason: 'expired' };
  return { ok: true, telegramId };
}
