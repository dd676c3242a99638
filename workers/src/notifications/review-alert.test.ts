import { JOBS, QUEUES, redisKeys } from '@amanat/core';
import { upsertTelegramUser } from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../../../devstack/testing.ts';
import {
  APP_ORIGIN,
  acceptDeal,
  draftDeal,
  type Harness,
  RELAY_JOB_OPTIONS,
  startHarness,
} from './test-harness.ts';

// Operators from configuration: the second has a users row in Russian, the others none (English).
const OPERATORS = [900_000_000_001n, 900_000_000_002n, 900_000_000_003n] as const;
const [OP_EN, OP_RU, OP_EN_2] = OPERATORS;
const SYSTEM = { kind: 'system', component: 'payments' } as const;

const DENYLISTED_EN = 'A payment came from a sender on the denylist; it is recorded but not counted.';
const DENYLISTED_RU = 'Пришёл платёж от отправителя из стоп-листа; он записан, но не засчитан.';
const LATE_EN = 'A payment arrived after the payment window; it is recorded but not counted.';

/** Messages a chat got about one deal (alerts carry the deal's id). */
const alertsTo = (h: Harness, chat: bigint, dealId: string) =>
  h.telegram.messagesTo(chat).filter((c) => String(c.params.text).includes(dealId));

/** Moves the outbox to Redis and waits for every job of the deal, party notifications and alerts. */
async function settleAll(h: Harness, dealId: string) {
  await h.drain();
  const ids = [...(await h.jobIds(dealId)), ...(await h.alertJobIds(dealId))];
  return Promise.all(ids.map((id) => h.settled(id)));
}

/** The deal's alert jobs, each run to the end. */
async function alertJobs(h: Harness, dealId: string) {
  await settleAll(h, dealId);
  return Promise.all((await h.alertJobIds(dealId)).map((id) => h.settled(id)));
}

describe('review alerts to operators', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ OPERATOR_TELEGRAM_IDS: new Set(OPERATORS) });
    await upsertTelegramUser(h.db.pool, { telegramId: OP_RU, language: 'ru' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a payment from a denylisted sender alerts every operator once, in their language, with a button to the review screen', async () => {
    const d = await draftDeal(h, '<i>Bike</i> & co');
    await acceptDeal(h, d);
    await settleAll(h, d.deal.id);
    const before = {
      seller: h.telegram.messagesTo(d.seller.telegramId as bigint).length,
      buyer: h.telegram.messagesTo(d.buyer.telegramId as bigint).length,
    };

    const flagged = await h.store.act(
      d.deal.id,
      { type: 'flag_review', reason: 'denylisted_sender' },
      SYSTEM,
    );
    const [job, ...more] = await alertJobs(h, d.deal.id);
    expect(more).toEqual([]);
    expect(job?.id).toBe(`review-${d.deal.id}-${flagged.entry.seq}`);
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(1);
    expect(
      job?.returnvalue.operators.map((o: { chatId: string; outcome: string }) => [o.chatId, o.outcome]),
    ).toEqual(OPERATORS.map((chat) => [String(chat), 'sent']));

    for (const chat of OPERATORS) {
      const got = alertsTo(h, chat, d.deal.id);
      expect(got).toHaveLength(1);
      const params = got[0]?.params ?? {};
      const ru = chat === OP_RU;
      expect(params.parse_mode).toBe('HTML');
      expect(params.text).toContain(ru ? 'Нужна проверка' : 'Review needed');
      expect(params.text).toContain('<b>&lt;i&gt;Bike&lt;/i&gt; &amp; co</b>');
      expect(params.text).not.toContain('<i>');
      expect(params.text).toContain(ru ? DENYLISTED_RU : DENYLISTED_EN);
      expect(params.text).toContain(ru ? 'Статус: Ожидает оплаты' : 'Status: Awaiting payment');
      expect(params.text).toContain(`<code>${d.deal.id}</code>`);
      expect(params.reply_markup.inline_keyboard).toEqual([
        [{ text: ru ? 'Открыть проверки' : 'Open reviews', web_app: { url: `${APP_ORIGIN}/review` } }],
      ]);
    }
    const rows = await h.operatorAlerts(d.deal.id);
    expect(rows.map((r) => [r.seq, r.chat_id, r.outcome])).toEqual(
      OPERATORS.map((chat) => [flagged.entry.seq, String(chat), 'sent']),
    );
    expect(rows.map((r) => Number(r.telegram_message_id))).toEqual(
      job?.returnvalue.operators.map((o: { messageId: number }) => o.messageId),
    );

    // The parties get their usual message about the flag, one each, and no alert.
    const toSeller = h.telegram.messagesTo(d.seller.telegramId as bigint);
    const toBuyer = h.telegram.messagesTo(d.buyer.telegramId as bigint);
    expect(toSeller).toHaveLength(before.seller + 1);
    expect(toBuyer).toHaveLength(before.buyer + 1);
    for (const call of [toSeller.at(-1), toBuyer.at(-1)]) {
      expect(call?.params.text).toContain('Amanat staff are reviewing this deal');
      expect(call?.params.text).not.toContain('denylist');
      expect(call?.params.reply_markup.inline_keyboard[0][0].web_app.url).toBe(
        `${APP_ORIGIN}/deals/${d.deal.id}`,
      );
    }
  });

  it('sends nothing more however often the alert comes back: re-added, replayed outbox, lost queue', async () => {
    const d = await draftDeal(h);
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    const [first] = await alertJobs(h, d.deal.id);
    if (!first) throw new Error('no alert job');
    const sent = h.telegram.callsOf('sendMessage').length;
    for (const chat of OPERATORS) expect(alertsTo(h, chat, d.deal.id)).toHaveLength(1);

    // Added again while BullMQ still holds it: the same job, nothing runs.
    const again = await h.queue.add(JOBS.notifications[1], first.data, { jobId: first.id as string });
    expect(again.id).toBe(first.id);
    expect(await (await h.queue.getJob(first.id as string))?.getState()).toBe('completed');

    // Removed after completion and added again: it runs, finds every operator's row, sends nothing.
    await first.remove();
    await h.queue.add(JOBS.notifications[1], first.data, { ...RELAY_JOB_OPTIONS, jobId: first.id as string });
    expect((await h.settled(first.id as string)).returnvalue).toEqual({
      operators: OPERATORS.map((chat) => ({ chatId: String(chat), outcome: 'duplicate' })),
    });

    // Redis lost the queue and the outbox is replayed: the alert runs again and sends nothing.
    await deleteKeysWithPrefix(
      h.redis.redis,
      `${redisKeys(h.redis.prefix).bullPrefix}:${QUEUES.notifications}`,
    );
    expect(await h.relay.replaySince(d.deal.createdAt)).toBeGreaterThanOrEqual(2);
    const [replayed] = await alertJobs(h, d.deal.id);
    expect(replayed?.returnvalue.operators.map((o: { outcome: string }) => o.outcome)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
    ]);

    expect(h.telegram.callsOf('sendMessage')).toHaveLength(sent);
    for (const chat of OPERATORS) expect(alertsTo(h, chat, d.deal.id)).toHaveLength(1);
    expect(await h.operatorAlerts(d.deal.id)).toHaveLength(3);
  });

  it('a new reason alerts again; a reason already under review does not; a flag raised after clearing does', async () => {
    const d = await draftDeal(h);
    const op = { kind: 'user', userId: d.seller.id, role: 'operator' } as const;
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    await alertJobs(h, d.deal.id);

    // The same reason again while the flag is up: the parties hear of it, the operators already know.
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    expect(await alertJobs(h, d.deal.id)).toHaveLength(1);
    for (const chat of OPERATORS) expect(alertsTo(h, chat, d.deal.id)).toHaveLength(1);

    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'late_payment' }, SYSTEM);
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'Odd <b>sender</b>, check' }, op);
    await h.store.act(d.deal.id, { type: 'clear_review', note: 'checked' }, op);
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    const jobs = await alertJobs(h, d.deal.id);
    expect(jobs).toHaveLength(4);
    for (const job of jobs) {
      expect(job.returnvalue.operators.map((o: { outcome: string }) => o.outcome)).toEqual([
        'sent',
        'sent',
        'sent',
      ]);
    }

    // The alerts of one deal may run at once: which text says what, not in which order they came.
    const texts = (chat: bigint) => alertsTo(h, chat, d.deal.id).map((c) => String(c.params.text));
    const saying = (chat: bigint, what: string) => texts(chat).filter((t) => t.includes(what));
    expect(texts(OP_EN)).toHaveLength(4);
    expect(saying(OP_EN, DENYLISTED_EN)).toHaveLength(2);
    const [late] = saying(OP_EN, LATE_EN);
    expect(saying(OP_EN, LATE_EN)).toHaveLength(1);
    expect(late).not.toContain(DENYLISTED_EN);
    // An operator's own words are quoted, escaped and cannot add markup.
    expect(saying(OP_EN, 'Reason: «Odd &lt;b&gt;sender&lt;/b&gt;, check»')).toHaveLength(1);
    expect(saying(OP_RU, 'Причина: «Odd &lt;b&gt;sender&lt;/b&gt;, check»')).toHaveLength(1);
    expect(texts(OP_EN).join('\n')).not.toContain('<b>sender');
    expect(alertsTo(h, OP_EN_2, d.deal.id)).toHaveLength(4);
    expect(await h.operatorAlerts(d.deal.id)).toHaveLength(12);
    // The parties heard of every flag and the clearing: create, four flags, clear, the flag after it.
    expect(h.telegram.messagesTo(d.seller.telegramId as bigint)).toHaveLength(7);
  });

  it('an operator whose send fails is retried alone: the others are not alerted twice', async () => {
    const d = await draftDeal(h);
    // The parties cannot be reached, so the only sends are the alerts and the failure hits the first.
    await h.db.pool.query('UPDATE users SET telegram_reachable = false WHERE id = ANY($1::uuid[])', [
      [d.seller.id, d.buyer.id],
    ]);
    await settleAll(h, d.deal.id);
    h.telegram.failNext('sendMessage', { status: 502, description: 'Bad Gateway' });
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'late_payment' }, SYSTEM);
    const [job] = await alertJobs(h, d.deal.id);

    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(2);
    // The run that succeeded sent to the first only; the others had their rows from the failed run.
    expect(job?.returnvalue.operators.map((o: { outcome: string }) => o.outcome)).toEqual([
      'sent',
      'duplicate',
      'duplicate',
    ]);
    const statuses = (chat: bigint) =>
      h.telegram.calls
        .filter((c) => String(c.params.chat_id) === String(chat) && String(c.params.text).includes(d.deal.id))
        .map((c) => c.failed?.status ?? 200);
    expect(statuses(OP_EN)).toEqual([502, 200]);
    expect(statuses(OP_RU)).toEqual([200]);
    expect(statuses(OP_EN_2)).toEqual([200]);
    expect((await h.operatorAlerts(d.deal.id)).map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent']);
  });
});

describe('an operator who blocked the bot', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ OPERATOR_TELEGRAM_IDS: new Set(OPERATORS) });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is recorded and skipped without stopping or repeating the others', async () => {
    h.telegram.blockChat(OP_RU);
    const d = await draftDeal(h);
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    const [job] = await alertJobs(h, d.deal.id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(1);
    expect(
      job?.returnvalue.operators.map((o: { outcome: string; reason?: string }) => [o.outcome, o.reason]),
    ).toEqual([
      ['sent', undefined],
      ['skipped', 'unreachable'],
      ['sent', undefined],
    ]);
    expect((await h.operatorAlerts(d.deal.id)).map((r) => [r.chat_id, r.outcome, r.reason])).toEqual([
      [String(OP_EN), 'sent', null],
      [String(OP_RU), 'skipped', 'unreachable'],
      [String(OP_EN_2), 'sent', null],
    ]);

    // A new reason: the blocked operator is tried once more (they may have unblocked), the others once each.
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'late_payment' }, SYSTEM);
    await alertJobs(h, d.deal.id);
    const callsTo = (chat: bigint) =>
      h.telegram.calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(chat));
    expect(callsTo(OP_RU).map((c) => c.failed?.status)).toEqual([403, 403]);
    expect(callsTo(OP_EN).map((c) => c.failed?.status ?? 200)).toEqual([200, 200]);
    expect(callsTo(OP_EN_2).map((c) => c.failed?.status ?? 200)).toEqual([200, 200]);
    // The parties still get theirs.
    expect(h.telegram.messagesTo(d.seller.telegramId as bigint)).toHaveLength(3);
  });
});

describe('no operators configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('the alert job completes and sends nothing; the parties still get their message', async () => {
    const d = await draftDeal(h);
    await acceptDeal(h, d);
    await h.store.act(d.deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    const [job, ...more] = await alertJobs(h, d.deal.id);
    expect(more).toEqual([]);
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toEqual({ operators: [] });
    expect(await h.operatorAlerts(d.deal.id)).toEqual([]);

    const chats = new Set(h.telegram.callsOf('sendMessage').map((c) => String(c.params.chat_id)));
    expect(chats).toEqual(new Set([String(d.seller.telegramId), String(d.buyer.telegramId)]));
    const flagMessages = (chat: bigint | null) =>
      h.telegram
        .messagesTo(chat as bigint)
        .filter((c) => String(c.params.text).includes('Amanat staff are reviewing this deal'));
    expect(flagMessages(d.seller.telegramId)).toHaveLength(1);
    expect(flagMessages(d.buyer.telegramId)).toHaveLength(1);
    expect(h.telegram.messagesTo(d.buyer.telegramId as bigint)).toHaveLength(4);
  });
});
