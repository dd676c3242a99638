import { randomBytes } from 'node:crypto';
import { BASIC_ASSISTANT_TEXT, type Locale, type PaymentStatus, STATE_GUIDE } from '@amanat/core';
import { type DealRecord, type Queryable, recordPayments, upsertTelegramUser } from '@amanat/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitingPaymentDeal, BUYER_ADDRESS } from '../../../platform/src/deals/test-fixtures.ts';
import { detectIntent } from './basic-responder.ts';
import { namedDealId, shortId } from './deal-access.ts';
import { type Answer, doneOf, type Harness, startHarness } from './test-harness.ts';

let h: Harness;
let partial: Awaited<ReturnType<typeof awaitingPaymentDeal>>;
const derive = (i: bigint) => `0x${(0xb0000n + i).toString(16).padStart(40, '0')}`;
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}` as const;

/** Records one payment of the deal's own asset, made now, as the payments worker would. */
async function pay(deal: DealRecord, amount: bigint, status: PaymentStatus) {
  await recordPayments(h.store, {
    dealId: deal.id,
    payments: [
      {
        chainId: deal.asset.chainId,
        txHash: hex(32),
        logIndex: 0,
        token: deal.asset.token,
        from: BUYER_ADDRESS,
        to: deal.deposit?.address as `0x${string}`,
        amount,
        blockNumber: 100n,
        blockHash: hex(32),
        blockTimestamp: new Date(),
        status,
      },
    ],
    denylist: new Set(),
    isKnownAsset: () => true,
    actor: { kind: 'system', component: 'payments' },
  });
}

beforeAll(async () => {
  h = await startHarness({});
  partial = await awaitingPaymentDeal(h.store, h.db.pool, derive);
  await pay(partial.deal, 50_000_000n, 'confirmed');
});

afterAll(async () => {
  await h.close();
});

/** A basic answer: checks what every one of them must be, and gives its text. */
function basicText(answer: Answer, locale: Locale): string {
  const done = doneOf(answer);
  expect(done.basic).toBe(true);
  expect(answer.deltas.join('')).toBe(done.content);
  expect(done.content.startsWith(BASIC_ASSISTANT_TEXT.header[locale])).toBe(true);
  expect(done.usage.completionTokens).toBeGreaterThan(0);
  return done.content;
}

const INTENTS: Record<
  Locale,
  Record<'status' | 'pay' | 'not_funded' | 'disputes' | 'fees', { ask: string; says: () => string[] }>
> = {
  en: {
    status: {
      ask: 'What is the status of my deal?',
      says: () => ['State: Partially paid', STATE_GUIDE.partially_paid.meaning.en, 'What you can do:'],
    },
    pay: {
      ask: 'How do I pay?',
      says: () => [
        'Send exactly: 50 USDT',
        `Deposit address: ${partial.deal.deposit?.address}`,
        'Network: Local (anvil)',
        'Confirmations needed: 2',
        'Pay by: ',
      ],
    },
    not_funded: {
      ask: 'Why is my deal not funded yet?',
      says: () => ['50 USDT of 100 USDT has arrived; 50 USDT is still missing'],
    },
    disputes: { ask: 'How do disputes work?', says: () => [BASIC_ASSISTANT_TEXT.disputes.en] },
    fees: {
      ask: 'What are the fees?',
      says: () => [
        'The fee on this deal is 1 USDT (1% of the price, at least 1 USDT); the seller pays it.',
        BASIC_ASSISTANT_TEXT.fees.en,
      ],
    },
  },
  ru: {
    status: {
      ask: 'Какой статус у моей сделки?',
      says: () => [
        'Статус: Оплачена частично',
        STATE_GUIDE.partially_paid.meaning.ru,
        'Что можете сделать вы:',
      ],
    },
    pay: {
      ask: 'Как оплатить?',
      says: () => [
        'Отправьте ровно: 50 USDT',
        `Адрес депозита: ${partial.deal.deposit?.address}`,
        'Сеть: Local (anvil)',
        'Нужно подтверждений: 2',
      ],
    },
    not_funded: {
      ask: 'Почему сделка ещё не оплачена?',
      says: () => ['Поступило 50 USDT из 100 USDT; не хватает 50 USDT'],
    },
    disputes: { ask: 'Как работают споры?', says: () => [BASIC_ASSISTANT_TEXT.disputes.ru] },
    fees: {
      ask: 'Какие комиссии?',
      says: () => [
        'Комиссия по этой сделке — 1 USDT (1% от цены, но не меньше 1 USDT); её платит продавец.',
        BASIC_ASSISTANT_TEXT.fees.ru,
      ],
    },
  },
};

describe('the basic assistant (no provider configured)', () => {
  for (const locale of ['en', 'ru'] as const) {
    for (const [intent, { ask, says }] of Object.entries(INTENTS[locale])) {
      it(`answers "${intent}" in ${locale} from the user's deal`, async () => {
        expect(detectIntent(ask)).toBe(intent);
        // The buyer's language setting is English: a Russian question is answered in Russian.
        const text = basicText(await h.ask(partial.buyer.id, ask), locale);
        for (const expected of says()) expect(text).toContain(expected);
      });
    }
  }

  it('explains a payment still waiting for confirmations', async () => {
    const d = await awaitingPaymentDeal(h.store, h.db.pool, derive);
    await pay(d.deal, 100_000_000n, 'pending');
    const text = basicText(await h.ask(d.buyer.id, 'My payment is still not showing, why?'), 'en');
    expect(text).toContain(
      'A payment of 100 USDT has arrived and is waiting for network confirmations (2 needed). The deal is funded as soon as it has them.',
    );
  });

  it('asks which deal when several fit, and answers for the one named by its short id', async () => {
    const first = await awaitingPaymentDeal(h.store, h.db.pool, derive, { title: 'Desk lamp' });
    const second = await awaitingPaymentDeal(h.store, h.db.pool, derive, { title: 'Bookshelf' });
    // The same buyer in both deals.
    await h.db.pool.query('UPDATE deal_parties SET user_id = $1 WHERE deal_id = $2 AND role = $3', [
      first.buyer.id,
      second.deal.id,
      'buyer',
    ]);
    const asked = basicText(await h.ask(first.buyer.id, 'how do I pay?'), 'en');
    expect(asked).toContain(BASIC_ASSISTANT_TEXT.pickDeal.en);
    expect(asked).toContain(`“Desk lamp” #${shortId(first.deal.id)}`);
    expect(asked).toContain(`“Bookshelf” #${shortId(second.deal.id)}`);

    const named = basicText(await h.ask(first.buyer.id, `how do I pay #${shortId(second.deal.id)}?`), 'en');
    expect(named).toContain(`Deal “Bookshelf” #${shortId(second.deal.id)}`);
    expect(named).toContain(`Deposit address: ${second.deal.deposit?.address}`);
  });

  it('says when nothing waits for payment, in the user’s own language when the message has no words', async () => {
    const lonely = await upsertTelegramUser(h.db.pool, {
      telegramId: BigInt(Date.now()) * 1000n + 777n,
      language: 'ru',
    });
    const pay = basicText(await h.ask(lonely.id, 'how do I pay?'), 'en');
    expect(pay).toContain(BASIC_ASSISTANT_TEXT.noPayableDeal.en);
    expect(pay).toContain(BASIC_ASSISTANT_TEXT.howToPayGeneral.en);
    const help = basicText(await h.ask(lonely.id, '?'), 'ru');
    expect(help).toContain(BASIC_ASSISTANT_TEXT.help.ru);
  });

  it('writes Markdown for the app and plain text for the bot', async () => {
    const app = basicText(await h.ask(partial.buyer.id, 'status of my deal', { surface: 'app' }), 'en');
    expect(app).toContain(`**Deal “Used bicycle” #${shortId(partial.deal.id)}**`);
    expect(app).toContain('- State: Partially paid');
    const bot = basicText(await h.ask(partial.buyer.id, 'status of my deal', { surface: 'bot' }), 'en');
    expect(bot).not.toContain('**');
    expect(bot).toContain('\nState: Partially paid');
  });

  it('charges only its answer against the quota, however long the conversation', async () => {
    const d = await awaitingPaymentDeal(h.store, h.db.pool, derive);
    const history = Array.from({ length: 6 }, (_, i) => ({
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `${i} ${'long earlier turn '.repeat(200)}`,
    }));
    const answer = await h.ask(d.buyer.id, [...history, { role: 'user', content: 'What are the fees?' }]);
    const text = basicText(answer, 'en');
    const done = doneOf(answer);
    expect(done.usage).toEqual({ promptTokens: 0, completionTokens: Math.ceil(text.length / 4) });
    expect(await h.spentToday(d.buyer.id)).toBe(done.usage.completionTokens);
  });

  it('looks up a few distinct references at most, however many id-like words a message has', async () => {
    let queries = 0;
    const counting: Queryable = {
      query: ((...args: Parameters<Queryable['query']>) => {
        queries++;
        return (h.db.pool.query as (...a: unknown[]) => unknown)(...args);
      }) as Queryable['query'],
    };
    const words = Array.from({ length: 30 }, (_, i) => (0x10000000 + i).toString(16)).join(' ');
    expect(await namedDealId(counting, partial.buyer.id, `${words} ${words}`)).toBeNull();
    expect(queries).toBeLessThanOrEqual(5);
    // A real reference among the noise is still found.
    expect(await namedDealId(counting, partial.buyer.id, `#${shortId(partial.deal.id)} ${words}`)).toBe(
      partial.deal.id,
    );
  });

  it('answers an unknown user with an error, not with anyone’s data', async () => {
    const answer = await h.ask('00000000-0000-4000-8000-000000000000', 'status of my deal');
    expect(answer.final).toMatchObject({ type: 'error', status: 403, code: 'unknown_user' });
    expect(answer.deltas).toEqual([]);
  });
});
