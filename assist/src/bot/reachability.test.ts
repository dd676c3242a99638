import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, TEST_SERVICE_SECRET, type TestApi } from '../../../api/src/testing.ts';
import {
  startTelegramDouble,
  type TelegramDouble,
  type TelegramUserDouble,
} from '../../../devstack/telegram-double.ts';
import { until } from '../../../devstack/testing.ts';
import { botKeys } from './memory.ts';
import { createTestBot, exchange, newTelegramUser, type TestBot } from './testing.ts';

// A user who blocked the bot is marked unreachable by the notification worker; they become reachable
// again when the bot registers them with the API. These tests watch the bot's registrations through a
// relay in front of the real API, which can also refuse them.

const REGISTER = '/api/internal/telegram-users';

let api: TestApi;
let tg: TelegramDouble;
let harness: TestBot;
let relay: Server;
/** Telegram ids the bot asked the API to register, in order. */
const registrations: number[] = [];
let refuseRegistrations = false;

beforeAll(async () => {
  api = await startTestApi();
  tg = await startTelegramDouble();
  relay = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url === REGISTER) {
      registrations.push(JSON.parse(body.toString('utf8')).telegramUser.id);
      if (refuseRegistrations) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'unavailable' }));
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(api.url + req.url, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  harness = await createTestBot({
    tg,
    apiUrl: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    serviceSecret: TEST_SERVICE_SECRET,
    ask: async () => ({ content: 'an answer' }),
  });
  await harness.bot.start();
});

afterAll(async () => {
  await harness?.close();
  await tg?.close();
  relay?.closeAllConnections();
  await new Promise((resolve) => relay?.close(resolve));
  await api?.close();
});

const reachable = async (telegramId: number): Promise<boolean> => {
  const { rows } = await api.db.pool.query('SELECT telegram_reachable FROM users WHERE telegram_id = $1', [
    telegramId,
  ]);
  return rows[0]?.telegram_reachable;
};

const markUnreachable = (telegramId: number) =>
  api.db.pool.query('UPDATE users SET telegram_reachable = false WHERE telegram_id = $1', [telegramId]);

const membership = (user: TelegramUserDouble, from: 'member' | 'kicked', to: 'member' | 'kicked') =>
  tg.pushUpdate({
    my_chat_member: {
      chat: { id: user.id, type: 'private', first_name: user.first_name },
      from: { is_bot: false, ...user },
      date: Math.floor(Date.now() / 1000),
      old_chat_member: { user: tg.botUser, status: from },
      new_chat_member: { user: tg.botUser, status: to },
    },
  });

const registrationsOf = (telegramId: number) => registrations.filter((id) => id === telegramId).length;

describe('a user who unblocks the bot becomes reachable again', () => {
  it('/start registers the user even while the bot remembers them', async () => {
    const user = newTelegramUser();
    await exchange(tg, user, '/help');
    expect(registrationsOf(user.id)).toBe(1);
    await markUnreachable(user.id);
    // Still remembered: an ordinary message does not register again.
    await exchange(tg, user, '/help');
    expect(registrationsOf(user.id)).toBe(1);
    expect(await reachable(user.id)).toBe(false);

    await exchange(tg, user, '/start');
    expect(registrationsOf(user.id)).toBe(2);
    expect(await reachable(user.id)).toBe(true);
  });

  it('unblocking (my_chat_member: member) registers the user, and sends them nothing', async () => {
    const user = newTelegramUser();
    await exchange(tg, user, '/help');
    await markUnreachable(user.id);
    membership(user, 'kicked', 'member');
    await until('the user is reachable again', () => reachable(user.id));
    expect(registrationsOf(user.id)).toBe(2);
    expect(tg.messagesTo(user.id)).toHaveLength(1);
  });

  it('blocking (my_chat_member: kicked) does not register the user, which would mark them reachable', async () => {
    const user = newTelegramUser();
    await exchange(tg, user, '/help');
    await markUnreachable(user.id);
    // Forgotten by the bot, so any update that registers would reach the API.
    await harness.redis.redis.del(botKeys(harness.config.REDIS_PREFIX).user(user.id));
    refuseRegistrations = true;
    try {
      membership(user, 'member', 'kicked');
      // The same user's next update is handled after the first: by its reply the first was handled.
      await exchange(tg, user, '/help');
    } finally {
      refuseRegistrations = false;
    }
    // One registration (by /help, refused); the kicked update asked for none.
    expect(registrationsOf(user.id)).toBe(2);
    expect(await reachable(user.id)).toBe(false);
  });
});
