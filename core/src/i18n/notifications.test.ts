import { describe, expect, it } from 'vitest';
import type { Actor } from '../activity-log.ts';
import { ACTION_RULES } from '../deal/machine.ts';
import { LOCALES } from './locale.ts';
import { type DealNotificationInput, dealNotificationText, escapeTelegramHtml } from './notifications.ts';

const SELLER = 'seller-id';
const BUYER = 'buyer-id';
const asSeller: Actor = { kind: 'user', userId: SELLER, role: 'seller' };
const asBuyer: Actor = { kind: 'user', userId: BUYER, role: 'buyer' };
const system: Actor = { kind: 'system', component: 'payments' };

const input = (over: Partial<DealNotificationInput> = {}): DealNotificationInput => ({
  action: 'accept',
  stateBefore: 'draft',
  stateAfter: 'draft',
  facts: {},
  actor: asSeller,
  recipient: { userId: SELLER, role: 'seller' },
  deal: {
    title: 'Camera',
    amountDue: 1_234_500_000n,
    asset: { symbol: 'USDT', decimals: 6 },
    deadlines: { payment: null, delivery: null, inspection: null },
  },
  ...over,
});

const forBuyer = { userId: BUYER, role: 'buyer' as const };

describe('deal notification texts', () => {
  it('every action reads as a whole message for either side, in every locale', () => {
    const actions = ['create', ...Object.keys(ACTION_RULES)];
    for (const action of actions) {
      for (const recipient of [{ userId: SELLER, role: 'seller' as const }, forBuyer]) {
        for (const locale of LOCALES) {
          const { text, button } = dealNotificationText(
            input({ action, recipient, actor: action === 'record_funding' ? system : asSeller }),
            locale,
          );
          expect(text.startsWith('<b>Camera</b>\n\n'), `${action} ${locale}`).toBe(true);
          expect(text, `${action} ${locale}`).not.toMatch(/undefined|null|NaN|\[object/);
          expect(text.split('\n\n')[1]?.length, `${action} ${locale}`).toBeGreaterThan(10);
          expect(button.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('says "you" to the one who acted and names the actor to the other side', () => {
    const joined = input({ action: 'join', actor: asBuyer, facts: { role: 'buyer' } });
    expect(dealNotificationText({ ...joined, recipient: forBuyer }, 'en').text).toContain(
      'You joined the deal as the buyer.',
    );
    expect(dealNotificationText(joined, 'en').text).toContain('The buyer joined your deal.');
    expect(dealNotificationText(joined, 'ru').text).toContain('Покупатель присоединился к сделке.');
    expect(dealNotificationText({ ...joined, recipient: forBuyer }, 'ru').text).toContain(
      'Вы присоединились к сделке как покупатель.',
    );
  });

  it('writes amounts with the asset’s decimals and the reader’s number format', () => {
    const accepted = input({ stateAfter: 'awaiting_payment', recipient: forBuyer, actor: asBuyer });
    expect(dealNotificationText(accepted, 'en').text).toContain('Pay 1,234.5 USDT');
    expect(dealNotificationText(accepted, 'ru').text).toContain('Оплатите 1\u00a0234,5 USDT');
  });

  it('tells each side what funding changed', () => {
    const funding = (stateBefore: string, stateAfter: string, facts: Record<string, unknown>) =>
      input({ action: 'record_funding', actor: system, stateBefore, stateAfter, facts });
    const text = (i: DealNotificationInput, role: 'seller' | 'buyer' = 'seller') =>
      dealNotificationText(role === 'buyer' ? { ...i, recipient: forBuyer } : i, 'en').text;

    const funded = funding('awaiting_payment', 'funded', {
      funding: 'funded',
      confirmed: '1234500000',
      confirming: '0',
    });
    expect(text(funded)).toContain(
      'The deal is funded: 1,234.5 USDT is held in escrow. Deliver to the buyer',
    );
    expect(text(funded, 'buyer')).toContain('Your payment is confirmed');
    const partial = funding('awaiting_payment', 'partially_paid', {
      confirmed: '1000000000',
      confirming: '0',
    });
    expect(text(partial, 'buyer')).toContain('Pay the remaining 234.5 USDT');
    const confirming = funding('awaiting_payment', 'awaiting_payment', {
      confirmed: '0',
      confirming: '5000000',
    });
    expect(text(confirming, 'buyer')).toContain('Your payment of 5 USDT has arrived and is waiting');
    const reorged = funding('funded', 'awaiting_payment', { confirmed: '0', confirming: '0' });
    expect(text(reorged)).toContain('reversed on the chain');
    expect(text(reorged)).toContain('Do not deliver');
    const late = funding('expired', 'expired', {
      confirmed: '0',
      confirming: '0',
      reviewReasons: ['late_payment'],
    });
    expect(text(late)).toContain('after the payment window');
  });

  it('escapes and clips what users wrote', () => {
    const title = `<i>Bike</i> & "lock" ${'x'.repeat(500)}`;
    const { text } = dealNotificationText(
      input({
        action: 'dispute_message',
        actor: asBuyer,
        stateBefore: 'disputed',
        stateAfter: 'disputed',
        facts: { text: `<a href="tg://x">click</a>\n${'y'.repeat(2000)}` },
        deal: { ...input().deal, title },
      }),
      'en',
    );
    expect(text).toContain('<b>&lt;i&gt;Bike&lt;/i&gt; &amp; &quot;lock&quot; xxx');
    expect(text).toContain('The buyer wrote in the dispute.');
    expect(text).toContain('«&lt;a href=&quot;tg://x&quot;&gt;click&lt;/a&gt; yyy');
    expect(text).not.toMatch(/<(?!\/?b>)/);
    expect(text.length).toBeLessThan(700);
    expect(escapeTelegramHtml('a<b>&"')).toBe('a&lt;b&gt;&amp;&quot;');
  });

  it('an unknown action still gives a message with the state', () => {
    const { text } = dealNotificationText(input({ action: 'something_new', stateAfter: 'funded' }), 'ru');
    expect(text).toBe('<b>Camera</b>\n\nСделка обновлена.\n\nСтатус: Оплачена');
  });
});
