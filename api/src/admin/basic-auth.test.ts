import { apiConfigSchema } from '@amanat/core';
import { describe, expect, it } from 'vitest';
import {
  adminPasswordProblem,
  createAdminCredentialCheck,
  hashAdminPassword,
  parseAdminPasswordHash,
  parseBasicAuthorization,
  verifyAdminPassword,
} from './basic-auth.ts';

const PASSWORD = 'violet staple mirror canyon';
// Cheaper parameters keep this file fast; the defaults are checked once below.
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('admin password hashes', () => {
  it('writes the format ADMIN_PASSWORD_HASH accepts, and verifies the right password only', async () => {
    const hash = await hashAdminPassword(PASSWORD);
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(apiConfigSchema.shape.ADMIN_PASSWORD_HASH.safeParse(hash).success).toBe(true);
    expect(await verifyAdminPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyAdminPassword(`${PASSWORD} `, hash)).toBe(false);
    expect(await verifyAdminPassword('', hash)).toBe(false);
  });

  it('salts every hash, so the same password never gives the same string', async () => {
    const [a, b] = await Promise.all([hashAdminPassword(PASSWORD, FAST), hashAdminPassword(PASSWORD, FAST)]);
    expect(a).not.toBe(b);
    expect(await verifyAdminPassword(PASSWORD, a)).toBe(true);
    expect(await verifyAdminPassword(PASSWORD, b)).toBe(true);
  });

  it('checks with the parameters stored in the hash', async () => {
    const hash = await hashAdminPassword(PASSWORD, FAST);
    expect(hash.startsWith('scrypt$1024$8$1$')).toBe(true);
    // The same salt and key under other parameters is a different hash.
    expect(await verifyAdminPassword(PASSWORD, hash.replace('scrypt$1024$8$1$', 'scrypt$2048$8$1$'))).toBe(
      false,
    );
  });

  it('refuses malformed hashes and parameters that would exhaust memory, without throwing', async () => {
    const good = await hashAdminPassword(PASSWORD, FAST);
    const [, , , , salt, key] = good.split('$');
    const bad = [
      '',
      'scrypt',
      good.replace('scrypt$', 'bcrypt$'),
      `scrypt$1000$8$1$${salt}$${key}`, // N not a power of two
      `scrypt$1073741824$8$1$${salt}$${key}`, // 2^30: gigabytes per check
      `scrypt$1048576$32$16$${salt}$${key}`,
      `scrypt$1024$0$1$${salt}$${key}`,
      `scrypt$1024$8$1$${salt}$${key}$extra`,
      `scrypt$1024$8$1$${salt}$${key?.slice(0, 10)}`,
      `scrypt$1024$8$1$not+base64url$${key}`,
    ];
    for (const stored of bad) {
      expect(parseAdminPasswordHash(stored), stored).toBeNull();
      expect(await verifyAdminPassword(PASSWORD, stored), stored).toBe(false);
    }
  });

  it('refuses empty and short passwords with a reason that says what to do', async () => {
    expect(adminPasswordProblem('')).toBe('the password is empty');
    expect(adminPasswordProblem('elevenchars')).toMatch(/has 11 characters; use at least 12/);
    expect(adminPasswordProblem('twelve chars')).toBeNull();
    // Characters, not bytes: twelve Cyrillic letters are enough.
    expect(adminPasswordProblem('пароль-длин!')).toBeNull();
    await expect(hashAdminPassword('short')).rejects.toThrow(/at least 12/);
  });
});

describe('parseBasicAuthorization', () => {
  const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('splits at the first colon, so passwords may contain colons', () => {
    expect(parseBasicAuthorization(header('admin:pa:ss:word'))).toEqual({
      user: 'admin',
      password: 'pa:ss:word',
    });
    expect(parseBasicAuthorization(`basic   ${Buffer.from('a:b').toString('base64')}`)).toEqual({
      user: 'a',
      password: 'b',
    });
  });

  it('returns null for anything that is not basic credentials', () => {
    for (const h of [
      undefined,
      '',
      'Basic',
      'Basic !!!',
      header('no-colon'),
      'Bearer abc',
      `Basic ${'A'.repeat(5000)}`,
    ]) {
      expect(parseBasicAuthorization(h), String(h)).toBeNull();
    }
  });
});

describe('createAdminCredentialCheck', () => {
  it('accepts only the configured user with the right password', async () => {
    const check = createAdminCredentialCheck({
      user: 'root',
      passwordHash: await hashAdminPassword(PASSWORD, FAST),
    });
    expect(await check('root', PASSWORD)).toBe(true);
    // A remembered success does not open the door to other credentials.
    expect(await check('root', PASSWORD)).toBe(true);
    expect(await check('root', 'wrong password here')).toBe(false);
    expect(await check('Root', PASSWORD)).toBe(false);
    expect(await check('root ', PASSWORD)).toBe(false);
    expect(await check('', '')).toBe(false);
  });

  it('lets nobody in when break-glass is not configured', async () => {
    const check = createAdminCredentialCheck({ user: undefined, passwordHash: undefined });
    expect(await check('', '')).toBe(false);
    expect(await check('admin', PASSWORD)).toBe(false);
  });
});
