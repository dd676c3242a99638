import { getUser } from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptDeal, draftDeal, type Harness, startHarness } from './test-harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const callsTo = (chatId: bigint | null) =>
  h.telegram.calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(chatId));

async function settleAll(dealId: string, recipient?: string) {
  await h.drain();
  return Promise.all((await h.jobIds(dealId, recipient)).map((id) => h.settled(id)));
}

describe('Bot API errors', () => {
  it('403: the user is marked unreachable, nothing is retried, and later events skip them without a call', async () => {
    const d = await draftDeal(h);
    h.telegram.blockChat(d.buyer.telegramId as bigint);
    await h.store.act(d.deal.id, { type: 'join', role: 'buyer' }, d.asBuyer, {
      partyAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    });
    const [joinJob] = await settleAll(d.deal.id, d.buyer.id);
    expect(await joinJob?.getState()).toBe('completed');
    expect(joinJob?.returnvalue).toEqual({ outcome: 'skipped', reason: 'unreachable' });
    expect(joinJob?.attemptsMade).toBe(1);
    expect((await getUser(h.db.pool, d.buyer.id))?.telegramReachable).toBe(false);
    expect(callsTo(d.buyer.telegramId).map((c) => c.failed?.status)).toEqual([403]);

    await h.store.act(d.deal.id, { type: 'accept' }, d.asSeller);
    await h.store.act(d.deal.id, { type: 'accept' }, d.asBuyer);
    const later = await settleAll(d.deal.id, d.buyer.id);
    expect(later).toHaveLength(3);
    for (const job of later.slice(1)) {
      expect(job.returnvalue).toEqual({ outcome: 'skipped', reason: 'unreachable' });
    }
    expect(callsTo(d.buyer.telegramId)).toHaveLength(1);
    const rows = (await h.deliveries(d.deal.id)).filter((r) => r.user_id === d.buyer.id);
    expect(rows.map((r) => r.reason)).toEqual(Array(later.length).fill('unreachable'));
    // The seller still hears about everything.
    expect(h.telegram.messagesTo(d.seller.telegramId as bigint)).toHaveLength(4);
  });

  it('400 "chat not found" (the user never started the bot) counts as unreachable too', async () => {
    h.telegram.failNext('sendMessage', { status: 400, description: 'Bad Request: chat not found' });
    const d = await draftDeal(h);
    const [job] = await settleAll(d.deal.id);
    expect(job?.returnvalue).toEqual({ outcome: 'skipped', reason: 'unreachable' });
    expect((await getUser(h.db.pool, d.seller.id))?.telegramReachable).toBe(false);
  });

  it('a 400 that retrying cannot fix fails the job at once, visible, after one call', async () => {
    h.telegram.failNext('sendMessage', { status: 400, description: 'Bad Request: BUTTON_TYPE_INVALID' });
    const d = await draftDeal(h);
    const [job] = await settleAll(d.deal.id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toBe('Telegram refused the message: Bad Request: BUTTON_TYPE_INVALID');
    expect(job?.attemptsMade).toBe(1);
    expect(callsTo(d.seller.telegramId).map((c) => c.failed?.status)).toEqual([400]);
    expect(await h.deliveries(d.deal.id)).toEqual([]);
    expect((await getUser(h.db.pool, d.seller.id))?.telegramReachable).toBe(true);
  });

  it('a 5xx is retried with backoff and then delivered once', async () => {
    h.telegram.failNext('sendMessage', { status: 502, description: 'Bad Gateway' });
    const d = await draftDeal(h);
    const [job] = await settleAll(d.deal.id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue.outcome).toBe('sent');
    expect(job?.attemptsMade).toBe(2);
    expect(callsTo(d.seller.telegramId).map((c) => c.failed?.status ?? 200)).toEqual([502, 200]);
    expect((await h.deliveries(d.deal.id)).map((r) => r.outcome)).toEqual(['sent']);
  });

  it('a database that refuses the record after Telegram accepted the message does not cause a second send', async () => {
    // Every 'sent' record fails until the constraint goes: the job must keep the send it made.
    await h.db.pool.query(
      "ALTER TABLE notification_deliveries ADD CONSTRAINT no_sent_yet CHECK (outcome <> 'sent') NOT VALID",
    );
    const d = await draftDeal(h);
    await h.drain();
    const chat = d.seller.telegramId as bigint;
    await h.telegram.waitForCall('sendMessage', (c) => String(c.params.chat_id) === String(chat));
    await new Promise((r) => setTimeout(r, 300));
    await h.db.pool.query('ALTER TABLE notification_deliveries DROP CONSTRAINT no_sent_yet');
    const [job] = await Promise.all((await h.jobIds(d.deal.id)).map((id) => h.settled(id)));
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(1);
    expect(callsTo(chat)).toHaveLength(1);
    expect((await h.deliveries(d.deal.id)).map((r) => r.outcome)).toEqual(['sent']);
  });
});

describe('bot off', () => {
  let off: Harness;
  beforeAll(async () => {
    off = await startHarness({ TELEGRAM_BOT_TOKEN: undefined });
  });
  afterAll(async () => {
    await off.close();
  });

  it('without a bot token every job completes as skipped (bot_off) and nothing is sent', async () => {
    const d = await draftDeal(off);
    await acceptDeal(off, d);
    await off.drain();
    const jobs = await Promise.all((await off.jobIds(d.deal.id)).map((id) => off.settled(id)));
    expect(jobs).toHaveLength(7);
    for (const job of jobs) {
      expect(await job.getState()).toBe('completed');
      expect(job.returnvalue).toEqual({ outcome: 'skipped', reason: 'bot_off' });
    }
    expect(off.telegram.calls).toEqual([]);
    expect((await off.deliveries(d.deal.id)).map((r) => r.reason)).toEqual(Array(7).fill('bot_off'));
  });
});
