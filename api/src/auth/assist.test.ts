import { mintAssistCredential } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, OPERATOR_TG, startTestApi, TEST_SERVICE_SECRET, type TestApi } from '../testing.ts';

/**
 * The bot acts for Telegram users with per-user `Assist` credentials signed with the service secret,
 * after registering each user through the internal endpoint. Neither may be forged or stretched.
 */

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const service = { authorization: `Bearer ${TEST_SERVICE_SECRET}` };
const assist = (telegramId: number, secret = TEST_SERVICE_SECRET, now?: Date) => ({
  authorization: `Assist ${mintAssistCredential(secret, BigInt(telegramId), now)}`,
});
const register = (telegramUser: Record<string, unknown>, headers: Record<string, string> = service) =>
  t.call('POST', '/api/internal/telegram-users', { headers, body: { telegramUser } });

describe('registering Telegram users (internal)', () => {
  it('creates the user with their Telegram language and refreshes the profile later', async () => {
    const first = await register({
      id: 61_001,
      first_name: 'Olga',
      username: 'olga',
      language_code: 'ru-RU',
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ telegramId: '61001', displayName: 'Olga', language: 'ru', roles: [] });
    const again = await register({ id: 61_001, first_name: 'Olga', last_name: 'K', is_premium: true });
    expect(again.body).toMatchObject({ id: first.body.id, displayName: 'Olga K', language: 'ru' });
  });

  it('makes a user who blocked the bot reachable again', async () => {
    const user = (await register({ id: 61_002, first_name: 'B' })).body;
    await t.db.pool.query('UPDATE users SET telegram_reachable = false WHERE id = $1', [user.id]);
    await register({ id: 61_002, first_name: 'B' });
    const { rows } = await t.db.pool.query('SELECT telegram_reachable FROM users WHERE id = $1', [user.id]);
    expect(rows[0].telegram_reachable).toBe(true);
  });

  it('is refused without the service secret, and bad profiles change nothing', async () => {
    expectProblem(await register({ id: 61_003, first_name: 'X' }, {}), 401, 'service_auth_required');
    expectProblem(
      await register({ id: 61_003, first_name: 'X' }, { authorization: 'Bearer not-the-secret' }),
      401,
      'service_auth_required',
    );
    expectProblem(await register({ id: -5, first_name: 'X' }), 400, 'validation_failed');
    const { rows } = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM users WHERE telegram_id IN (61003, -5)',
    );
    expect(rows[0].n).toBe(0);
  });
});

describe('Assist credentials', () => {
  it('act as the one registered user they name', async () => {
    const user = (await register({ id: 61_010, first_name: 'Seller' })).body;
    const me = await t.call('GET', '/api/auth/me', { headers: assist(61_010) });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.id);
    const deals = await t.call('GET', '/api/deals', { headers: assist(61_010) });
    expect(deals.status).toBe(200);
    expect(deals.body.deals).toEqual([]);
  });

  it('refuse unknown users, other secrets, expired and tampered credentials', async () => {
    expectProblem(
      await t.call('GET', '/api/auth/me', { headers: assist(61_099) }),
      401,
      'assist_user_unknown',
    );
    await register({ id: 61_011, first_name: 'U' });
    expectProblem(
      await t.call('GET', '/api/auth/me', {
        headers: assist(61_011, 'another-secret-that-is-long-enough-000'),
      }),
      401,
      'assist_credential_signature_invalid',
    );
    expectProblem(
      await t.call('GET', '/api/auth/me', {
        headers: assist(61_011, TEST_SERVICE_SECRET, new Date(Date.now() - 3600_000)),
      }),
      401,
      'assist_credential_expired',
    );
    // Minted for a long life ahead (a stolen secret's favourite trick) is refused too.
    expectProblem(
      await t.call('GET', '/api/auth/me', {
        headers: assist(61_011, TEST_SERVICE_SECRET, new Date(Date.now() + 3600_000)),
      }),
      401,
      'assist_credential_expired',
    );
    const [id, exp, mac] = mintAssistCredential(TEST_SERVICE_SECRET, 61_011n).split('.');
    // The same signature for another user does not verify.
    expectProblem(
      await t.call('GET', '/api/auth/me', { headers: { authorization: `Assist 61010.${exp}.${mac}` } }),
      401,
      'assist_credential_signature_invalid',
    );
    expect(id).toBe('61011');
    expectProblem(
      await t.call('GET', '/api/auth/me', { headers: { authorization: 'Assist 61011.nonsense' } }),
      401,
      'assist_credential_malformed',
    );
  });
});

describe('PATCH /api/auth/me', () => {
  it('changes the language, which /api/auth/me then reports', async () => {
    const token = await t.signIn(61_020);
    const changed = await t.call('PATCH', '/api/auth/me', { token, body: { language: 'ru' } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.language).toBe('ru');
    expect((await t.call('GET', '/api/auth/me', { token })).body.language).toBe('ru');
    const { rows } = await t.db.pool.query('SELECT language FROM users WHERE telegram_id = 61020');
    expect(rows[0].language).toBe('ru');
  });

  it('refuses languages Amanat does not write and unknown fields, changing nothing', async () => {
    const token = await t.signIn(61_021);
    expectProblem(
      await t.call('PATCH', '/api/auth/me', { token, body: { language: 'de' } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.call('PATCH', '/api/auth/me', { token, body: { language: 'ru', displayName: 'Admin' } }),
      400,
      'validation_failed',
    );
    expectProblem(await t.call('PATCH', '/api/auth/me', { body: { language: 'ru' } }), 401, 'auth_required');
    expect((await t.call('GET', '/api/auth/me', { token })).body.language).toBe('en');
  });
});

describe('what an Assist credential may do', () => {
  it('reads and changes the language, but never acts on deals or with staff powers', async () => {
    const sellerToken = await t.signIn(61_030);
    const deal = await t.createDeal(sellerToken);
    await register({ id: 61_031, first_name: 'Bot user' });
    const refused = await t.call('POST', '/api/deals/join', {
      headers: assist(61_031),
      body: { code: deal.invite.code, address: '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B' },
    });
    expectProblem(refused, 403, 'assist_read_only');
    expect(
      (await t.call('GET', `/api/invites/${deal.invite.code}`, { headers: assist(61_031) })).status,
    ).toBe(200);
    const lang = await t.call('PATCH', '/api/auth/me', { headers: assist(61_031), body: { language: 'ru' } });
    expect(lang.body.language).toBe('ru');
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM deal_parties WHERE deal_id = $1', [
      deal.id,
    ]);
    expect(rows[0].n).toBe(1);

    // An operator's Telegram id through the bot is an ordinary user.
    await register({ id: OPERATOR_TG, first_name: 'Op' });
    const me = await t.call('GET', '/api/auth/me', { headers: assist(OPERATOR_TG) });
    expect(me.body.roles).toEqual([]);
    expectProblem(
      await t.call('GET', '/api/admin/reviews', { headers: assist(OPERATOR_TG) }),
      403,
      'operator_only',
    );
  });
});
