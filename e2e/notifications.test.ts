// How Amanat talks to people, on real processes: api, workers and assist from their entry points, with
// the Bot API double standing in for Telegram. Every deal event reaches each party once in Telegram,
// even after the workers die and Redis loses its queues; the bot answers deep links and free text.

import { QUEUES, redisKeys } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_USDT, PAYOUT_ADDRESS, REFUND_ADDRESS, TEST_BOT_TOKEN } from '../api/src/testing.ts';
import { apiClient } from '../devstack/api-client.ts';
import { startTelegramDouble, type TelegramDouble } from '../devstack/telegram-double.ts';
import { until } from '../devstack/testing.ts';
import { type Pipeline, startPipeline } from './harness.ts';

let tg: TelegramDouble;
let p: Pipeline;
let call: ReturnType<typeof apiClient>;

const SELLER = { id: 880_000_001, first_name: 'Sami' };
const BUYER = { id: 880_000_002, first_name: 'Bo', language_code: 'ru' };

beforeAll(async () => {
  tg = await startTelegramDouble({ token: TEST_BOT_TOKEN });
  const telegram = { TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN, TELEGRAM_API_ROOT: tg.apiRoot };
  p = await startPipeline({
    // No chain is read here: deals only need their asset's chain to be configured.
    rpcUrls: { 31337: ['http://127.0.0.1:9'] },
    env: {
      workers: { ...telegram, APP_ORIGIN: 'https://app.test', NOTIFY_CHAT_INTERVAL_MS: '100' },
      assist: { ...telegram, APP_ORIGIN: 'https://app.test' },
    },
  });
  await p.start('api');
  await p.start('workers');
  await p.start('assist');
  call = apiClient(p.apiUrl);
}, 90_000);

afterAll(async () => {
  await p?.close();
  await tg?.close();
});

/** Every deal event's audience, from the outbox: who must get a message, once per event. */
async function expectedPerUser(): Promise<Map<string, number>> {
  const { rows } = await p.db.pool.query(
    `SELECT u.telegram_id::text AS tg, count(*)::int AS n
     FROM outbox o, jsonb_array_elements_text(o.payload->'audience') a(user_id)
     JOIN users u ON u.id = a.user_id::uuid
     WHERE o.kind = 'deal_event' GROUP BY u.telegram_id`,
  );
  return new Map(rows.map((r) => [r.tg as string, r.n as number]));
}

const sentTo = (chat: number) => tg.messagesTo(chat).filter((c) => c.method === 'sendMessage');

describe('deal events in Telegram', () => {
  let dealId: string;
  let code: string;

  it('reach both parties once each, in their language, with a button that opens the deal', async () => {
    // The buyer talks to the bot first, so their Telegram language is known before the deal.
    tg.sendText(BUYER, '/start');
    await tg.waitForCall('sendMessage', (c) => c.params.chat_id === BUYER.id, 20_000);
    const sellerToken = await p.signIn(SELLER.id);
    const buyerToken = await p.signIn(BUYER.id);
    const created = await call('POST', '/api/deals', sellerToken, {
      title: 'Vintage <b>camera</b>',
      amount: '100',
      asset: { chainId: 31337, token: LOCAL_USDT },
      role: 'seller',
      address: PAYOUT_ADDRESS,
    });
    dealId = created.id as string;
    code = (created.invite as { code: string }).code;
    await call('POST', '/api/deals/join', buyerToken, { code, address: REFUND_ADDRESS });
    await call('POST', `/api/deals/${dealId}/accept`, sellerToken, {});
    await call('POST', `/api/deals/${dealId}/accept`, buyerToken, {});
    const { version } = await p.deal(dealId);
    await call('POST', `/api/deals/${dealId}/cancel`, buyerToken, { version });

    const expected = await expectedPerUser();
    expect(expected.get(String(SELLER.id))).toBe(5);
    expect(expected.get(String(BUYER.id))).toBe(4);
    await until(
      'every event reaches both chats',
      () => sentTo(SELLER.id).length >= 5 && sentTo(BUYER.id).length >= 5,
      30_000,
    );
    // The buyer's chat also holds the bot's /start greeting; the rest are the four events.
    const buyerEvents = sentTo(BUYER.id).filter((c) => c.params.parse_mode === 'HTML');
    const sellerEvents = sentTo(SELLER.id).filter((c) => c.params.parse_mode === 'HTML');
    expect(sellerEvents).toHaveLength(5);
    expect(buyerEvents).toHaveLength(4);
    // User-written text is escaped, never markup; each message opens this deal in the Mini App.
    expect(sellerEvents.map((c) => c.params.text).join('\n')).toContain('Vintage &lt;b&gt;camera&lt;/b&gt;');
    for (const c of [...sellerEvents, ...buyerEvents]) {
      expect(c.params.reply_markup.inline_keyboard[0][0].web_app.url).toBe(
        `https://app.test/deals/${dealId}`,
      );
    }
    // The buyer wrote to the bot from a Russian Telegram: their messages are Russian.
    expect(buyerEvents.every((c) => /[а-яё]/i.test(c.params.text))).toBe(true);
    expect(sellerEvents.every((c) => !/[а-яё]/i.test(c.params.text))).toBe(true);
  }, 60_000);

  it('are not sent again after the workers die and Redis loses every queue', async () => {
    const before = tg.callsOf('sendMessage').length;
    await p.services.get('workers')?.stop('SIGKILL');
    const redis = createRedis(p.redisUrl, 'worker', 'e2e-notifications');
    const bull = `${redisKeys(p.prefix).bullPrefix}:${QUEUES.notifications}`;
    for (const key of await redis.keys(`${bull}:*`)) await redis.del(key);
    // The relay delivers the whole outbox again, as after a Redis restored from an old snapshot.
    const { rowCount } = await p.db.pool.query('UPDATE outbox SET delivered_at = NULL');
    expect(rowCount).toBeGreaterThan(0);
    await p.start('workers');
    const queue = new Queue(QUEUES.notifications, {
      connection: redis,
      prefix: redisKeys(p.prefix).bullPrefix,
    });
    const jobs = [...(await expectedPerUser()).values()].reduce((a, b) => a + b, 0);
    await until(
      'the replayed notification jobs all ran',
      async () => (await queue.getJobCounts('completed')).completed === jobs,
      30_000,
    );
    expect(tg.callsOf('sendMessage').length).toBe(before);
    const { rows } = await p.db.pool.query(
      "SELECT count(*)::int AS n FROM notification_deliveries WHERE outcome = 'sent'",
    );
    expect(rows[0].n).toBe(jobs);
    await queue.close();
    redis.disconnect();
  }, 60_000);
});

describe('the bot on real processes', () => {
  it('answers an invite deep link with the deal and a Join button', async () => {
    const seller = await p.signIn(880_000_011);
    const created = await call('POST', '/api/deals', seller, {
      title: 'Desk lamp',
      amount: '25',
      asset: { chainId: 31337, token: LOCAL_USDT },
      role: 'seller',
      address: PAYOUT_ADDRESS,
    });
    const code = (created.invite as { code: string }).code;
    const stranger = { id: 880_000_012, first_name: 'Sue' };
    tg.sendText(stranger, `/start deal_${code}`);
    const reply = await tg.waitForCall(
      'sendMessage',
      (c) => c.params.chat_id === stranger.id && String(c.params.text).includes('Desk lamp'),
      20_000,
    );
    expect(JSON.stringify(reply.params.reply_markup)).toContain(code);
  }, 30_000);

  it('hands free text to the assistant and sends its answer', async () => {
    const user = { id: 880_000_013, first_name: 'Ann' };
    tg.sendText(user, 'How do disputes work?');
    await tg.waitForCall('sendChatAction', (c) => c.params.chat_id === user.id, 20_000);
    const answer = await tg.waitForCall(
      'sendMessage',
      (c) => c.params.chat_id === user.id && /assistant/i.test(String(c.params.text)),
      20_000,
    );
    expect(String(answer.params.text)).toMatch(/dispute/i);
  }, 30_000);
});
