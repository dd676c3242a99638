import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * The break-glass password for bull-board, stored as `scrypt$N$r$p$<salt>$<hash>` (base64url), the
 * format ADMIN_PASSWORD_HASH accepts. `npm run admin:hash` writes it; the board checks against it.
 */
export const MIN_ADMIN_PASSWORD_LENGTH = 12;
const MAX_ADMIN_PASSWORD_LENGTH = 1024;

/** 2^15 × 8 × 128 bytes = 32 MiB per check: about 50–100 ms here, far slower for a guesser's GPU. */
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** A stored hash cannot make a check allocate more than this (the config is trusted, but not blindly). */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function deriveKey(password: string, salt: Buffer, params: ScryptParams, keyBytes: number): Promise<Buffer> {
  const memory = 128 * params.N * params.r * params.p;
  return new Promise((resolve, reject) => {
    // Async: the work runs on the libuv pool, so a check never stalls the event loop.
    scrypt(
      password.normalize('NFC'),
      salt,
      keyBytes,
      { N: params.N, r: params.r, p: params.p, maxmem: 2 * memory + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** Splits a stored hash; null when it is not one we would have written or could check safely. */
export function parseAdminPasswordHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText, rText, pText, saltText, hashText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (![nText, rText, pText].every((t) => /^\d{1,8}$/.test(t))) return null;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  const powerOfTwo = N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0;
  if (!powerOfTwo || r < 1 || r > 32 || p < 1 || p > 16) return null;
  if (128 * N * r * p > MAX_SCRYPT_MEMORY) return null;
  if (!B64URL.test(saltText) || !B64URL.test(hashText)) return null;
  const salt = Buffer.from(saltText, 'base64url');
  const hash = Buffer.from(hashText, 'base64url');
  if (salt.length < 12 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

/** Why a password is refused, in words that say what to do; null when it is acceptable. */
export function adminPasswordProblem(password: string): string | null {
  const length = [...password].length;
  if (length === 0) return 'the password is empty';
  if (length < MIN_ADMIN_PASSWORD_LENGTH) {
    return (
      `the password has ${length} characters; use at least ${MIN_ADMIN_PASSWORD_LENGTH} ` +
      '(a passphrase of four or more random words is easy to type and hard to guess)'
    );
  }
  if (length > MAX_ADMIN_PASSWORD_LENGTH) {
    return `the password has ${length} characters; use at most ${MAX_ADMIN_PASSWORD_LENGTH}`;
  }
  return null;
}

export async function hashAdminPassword(
  password: string,
  params: ScryptParams = DEFAULT_PARAMS,
): Promise<string> {
  const problem = adminPasswordProblem(password);
  if (problem) throw new Error(problem);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, params, KEY_BYTES);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** True when the password matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyAdminPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseAdminPasswordHash(stored);
  if (!parsed || password.length > MAX_ADMIN_PASSWORD_LENGTH * 4) return false;
  const key = await deriveKey(password, parsed.salt, parsed, parsed.hash.length);
  return timingSafeEqual(key, parsed.hash);
}

/** Equal-length digests, so the compare takes the same time whatever the lengths and contents. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The user and password of an `Authorization: Basic ...` header; null when it is not one. */
export function parseBasicAuthorization(
  header: string | undefined,
): { user: string; password: string } | null {
  if (!header || header.length > 4096) return null;
  const match = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks break-glass credentials. The user name is compared in constant time and scrypt runs whether
 * or not it matched, so timing tells nothing about which half was wrong. bull-board loads a dozen
 * assets and polls every few seconds, so a success is remembered for a few minutes under a keyed
 * hash (never the password itself) instead of paying for scrypt on every request.
 */
export function createAdminCredentialCheck(opts: {
  user: string | undefined;
  passwordHash: string | undefined;
  rememberMs?: number;
}): (user: string, password: string) => Promise<boolean> {
  const rememberMs = opts.rememberMs ?? 5 * 60_000;
  const cacheKey = randomBytes(32);
  const remembered = new Map<string, number>();
  return async (user, password) => {
    const { user: expectedUser, passwordHash } = opts;
    if (!expectedUser || !passwordHash) return false;
    const id = createHmac('sha256', cacheKey).update(user).update('\0').update(password).digest('base64url');
    const until = remembered.get(id);
    if (until !== undefined && until > Date.now()) return true;
    remembered.delete(id);
    const userOk = sameSecret(user, expectedUser);
    const passwordOk = await verifyAdminPassword(password, passwordHash);
    if (!userOk || !passwordOk) return false;
    if (remembered.size >= 32) remembered.clear();
    remembered.set(id, Date.now() + rememberMs);
    return true;
  };
}
