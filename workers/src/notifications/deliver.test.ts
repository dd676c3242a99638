import { JOBS, notificationJobId, QUEUES, redisKeys } from '@amanat/core';
import { upsertTelegramUser } from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../../../devstack/testing.ts';
import {
  APP_ORIGIN,
  acceptDeal,
  draftDeal,
  type Harness,
  RELAY_JOB_OPTIONS,
  setLanguage,
  startHarness,
} from './test-harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** Runs every notification of a deal to the end and returns the jobs. */
async function deliverAll(dealId: string) {
  await h.drain();
  const ids = await h.jobIds(dealId);
  return Promise.all(ids.map((id) => h.settled(id)));
}

const sendCount = () => h.telegram.callsOf('sendMessage').length;

describe('notifications', () => {
  it('sends each party one message per event, in their language, with a button that opens the deal', async () => {
    const d = await draftDeal(h);
    await acceptDeal(h, d);
    await setLanguage(h, d.seller.id, 'ru');
    const jobs = await deliverAll(d.deal.id);

    // create (seller only), join, accept, accept (both parties).
    expect(jobs).toHaveLength(7);
    for (const job of jobs) {
      expect(await job.getState()).toBe('completed');
      expect(job.returnvalue.outcome).toBe('sent');
    }
    const toSeller = h.telegram.messagesTo(d.seller.telegramId as bigint);
    const toBuyer = h.telegram.messagesTo(d.buyer.telegramId as bigint);
    expect(toSeller).toHaveLength(4);
    expect(toBuyer).toHaveLength(3);
    for (const call of [...toSeller, ...toBuyer]) {
      expect(call.params.parse_mode).toBe('HTML');
      expect(call.params.text).toContain('<b>Used bicycle</b>');
      expect(call.params.reply_markup.inline_keyboard).toEqual([
        [
          {
            text: toSeller.includes(call) ? 'Открыть сделку' : 'Open the deal',
            web_app: { url: `${APP_ORIGIN}/deals/${d.deal.id}` },
          },
        ],
      ]);
    }
    for (const call of toSeller) expect(call.params.text).toMatch(/Статус: /);
    for (const call of toBuyer) expect(call.params.text).toMatch(/Status: /);

    const texts = (calls: typeof toSeller) => calls.map((c) => String(c.params.text));
    // Worded for the reader: the one who acted reads "you", the other side reads who did it.
    expect(texts(toSeller).some((t) => t.includes('Вы создали сделку как продавец'))).toBe(true);
    expect(texts(toSeller).some((t) => t.includes('Покупатель присоединился к сделке'))).toBe(true);
    expect(texts(toBuyer).some((t) => t.includes('You joined the deal as the buyer'))).toBe(true);
    expect(texts(toBuyer).some((t) => t.includes('Pay 100 USDT to the deposit address'))).toBe(true);
    expect(texts(toSeller).some((t) => t.includes('покупатель вносит 100 USDT на эскроу'))).toBe(true);

    const rows = await h.deliveries(d.deal.id);
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.outcome === 'sent' && r.reason === null)).toBe(true);
    const sentIds = [...toSeller, ...toBuyer].map((c) => c.params.chat_id);
    expect(new Set(rows.map((r) => Number(r.chat_id)))).toEqual(new Set(sentIds.map(Number)));
    expect(new Set(jobs.map((j) => j.returnvalue.messageId))).toEqual(
      new Set(rows.map((r) => Number(r.telegram_message_id))),
    );
  });

  it('sends once however often the job comes back: re-added, replayed outbox, lost queue', async () => {
    const d = await draftDeal(h);
    await acceptDeal(h, d);
    const jobs = await deliverAll(d.deal.id);
    const sent = sendCount();
    const [first] = jobs;
    if (!first) throw new Error('no job');

    // The same job added again while BullMQ still holds it is the same job: nothing runs.
    const again = await h.queue.add(JOBS.notifications[0], first.data, { jobId: first.id as string });
    expect(again.id).toBe(first.id);
    expect(await (await h.queue.getJob(first.id as string))?.getState()).toBe('completed');

    // Removed from Redis after completion and added again: it runs, finds its row, sends nothing.
    await first.remove();
    await h.queue.add(JOBS.notifications[0], first.data, { ...RELAY_JOB_OPTIONS, jobId: first.id as string });
    expect((await h.settled(first.id as string)).returnvalue).toEqual({ outcome: 'duplicate' });

    // Redis lost the whole queue and the outbox is replayed: every job runs again and sends nothing.
    await deleteKeysWithPrefix(
      h.redis.redis,
      `${redisKeys(h.redis.prefix).bullPrefix}:${QUEUES.notifications}`,
    );
    expect(await h.relay.replaySince(d.deal.createdAt)).toBeGreaterThanOrEqual(4);
    const replayed = await deliverAll(d.deal.id);
    expect(replayed).toHaveLength(7);
    for (const job of replayed) expect(job.returnvalue).toEqual({ outcome: 'duplicate' });

    expect(sendCount()).toBe(sent);
    expect(h.telegram.messagesTo(d.buyer.telegramId as bigint)).toHaveLength(3);
    expect(await h.deliveries(d.deal.id)).toHaveLength(7);
  });

  it('skips a party without Telegram or unreachable by it, and records why', async () => {
    const d = await draftDeal(h);
    await h.db.pool.query('UPDATE users SET telegram_id = NULL WHERE id = $1', [d.buyer.id]);
    const e = await draftDeal(h);
    await h.db.pool.query('UPDATE users SET telegram_reachable = false WHERE id = $1', [e.buyer.id]);
    await acceptDeal(h, d);
    await acceptDeal(h, e);
    const jobs = [...(await deliverAll(d.deal.id)), ...(await deliverAll(e.deal.id))];
    for (const job of jobs) expect(await job.getState()).toBe('completed');

    const reasons = async (dealId: string, userId: string) =>
      (await h.deliveries(dealId)).filter((r) => r.user_id === userId).map((r) => [r.outcome, r.reason]);
    expect(await reasons(d.deal.id, d.buyer.id)).toEqual(Array(3).fill(['skipped', 'no_telegram']));
    expect(await reasons(e.deal.id, e.buyer.id)).toEqual(Array(3).fill(['skipped', 'unreachable']));
    expect(h.telegram.messagesTo(e.buyer.telegramId as bigint)).toHaveLength(0);
    expect(h.telegram.calls.filter((c) => String(c.params.chat_id) === String(e.buyer.telegramId))).toEqual(
      [],
    );
    // The seller's side is untouched.
    expect(h.telegram.messagesTo(d.seller.telegramId as bigint)).toHaveLength(4);
    expect(h.telegram.messagesTo(e.seller.telegramId as bigint)).toHaveLength(4);
  });

  it('fails a job for someone who is not a party at once, without retrying or sending', async () => {
    const d = await draftDeal(h);
    await deliverAll(d.deal.id);
    const [event] = await h.events(d.deal.id);
    if (!event) throw new Error('no event');
    const stranger = await upsertTelegramUser(h.db.pool, { telegramId: BigInt(Date.now()) * 1000n + 999n });
    const data = {
      eventId: event.id,
      dealId: d.deal.id,
      seq: event.seq,
      recipientUserId: stranger.id,
      channel: 'telegram' as const,
    };
    const jobId = notificationJobId(data);
    await h.queue.add(JOBS.notifications[0], data, { ...RELAY_JOB_OPTIONS, jobId });
    const job = await h.settled(jobId);
    expect(await job.getState()).toBe('failed');
    expect(job.failedReason).toContain('is not a party');
    expect(job.attemptsMade).toBe(1);
    expect(h.telegram.calls.filter((c) => String(c.params.chat_id) === String(stranger.telegramId))).toEqual(
      [],
    );
    expect((await h.deliveries(d.deal.id)).some((r) => r.user_id === stranger.id)).toBe(false);
  });

  it('escapes and clips a title someone else wrote', async () => {
    const title = `<a href="https://evil.example">Pay here</a> & ${'x'.repeat(300)}`;
    const d = await draftDeal(h, title);
    const [job] = await deliverAll(d.deal.id);
    expect(job?.returnvalue.outcome).toBe('sent');
    const [call] = h.telegram.messagesTo(d.seller.telegramId as bigint);
    const text = String(call?.params.text);
    expect(text).toContain('<b>&lt;a href=&quot;https://evil.example&quot;&gt;Pay here&lt;/a&gt; &amp; xxx');
    expect(text).not.toContain('<a href');
    const shownTitle = /^<b>(.*?)<\/b>/.exec(text)?.[1] ?? '';
    expect(shownTitle.endsWith('…')).toBe(true);
    expect(text.length).toBeLessThan(1000);
  });
});

describe('an app that is not on https (local development)', () => {
  let local: Harness;
  beforeAll(async () => {
    local = await startHarness({ APP_ORIGIN: 'http://localhost:5173' });
  });
  afterAll(async () => {
    await local.close();
  });

  it('sends the message without the Mini App button, which Telegram would refuse', async () => {
    const d = await draftDeal(local);
    await local.drain();
    const [jobId] = await local.jobIds(d.deal.id);
    expect((await local.settled(jobId as string)).returnvalue.outcome).toBe('sent');
    const [call] = local.telegram.messagesTo(d.seller.telegramId as bigint);
    expect(call?.params.text).toContain('<b>Used bicycle</b>');
    expect(call?.params.reply_markup).toBeUndefined();
  });
});
