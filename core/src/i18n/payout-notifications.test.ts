import { describe, expect, it } from 'vitest';
import { LOCALES } from './locale.ts';
import {
  type DealNotificationInput,
  dealNotificationText,
  payoutFailureText,
  reviewAlertText,
} from './notifications.ts';

const SELLER_TX = `0x${'a1'.repeat(32)}`;
const FEE_TX = `0x${'f0'.repeat(32)}`;
const EXCESS_TX = `0x${'b2'.repeat(32)}`;

const released = (role: 'seller' | 'buyer', explorer: string | null): DealNotificationInput => ({
  action: 'payouts_confirmed',
  stateBefore: 'releasing',
  stateAfter: 'released',
  facts: {
    transactions: [
      { kind: 'seller', recipient: '0xSeller', amount: '98000000', chainId: 1, txHash: SELLER_TX },
      { kind: 'buyer_excess', recipient: '0xBuyer', amount: '500000', chainId: 1, txHash: EXCESS_TX },
      { kind: 'fee', recipient: '0xFee', amount: '2000000', chainId: 1, txHash: FEE_TX },
      { kind: 'seller', amount: '1', chainId: 1, txHash: '<script>' },
    ],
  },
  actor: { kind: 'system', component: 'payouts' },
  recipient: { userId: role, role },
  deal: {
    title: 'Camera',
    amountDue: 100_500_000n,
    asset: { symbol: 'USDT', decimals: 6 },
    deadlines: { payment: null, delivery: null, inspection: null },
  },
  explorerTxUrl: (chainId, hash) => (explorer ? `${explorer}/tx/${hash}?chain=${chainId}&x=1` : null),
});

describe('payouts confirmed', () => {
  it('names each party transaction with its explorer link, the recipient’s own first, never the fee', () => {
    const { text } = dealNotificationText(released('seller', 'https://etherscan.io'), 'en');
    expect(text).toContain(
      `98 USDT to you: <a href="https://etherscan.io/tx/${SELLER_TX}?chain=1&amp;x=1">${SELLER_TX}</a>`,
    );
    expect(text).toContain(`0.5 USDT to the buyer: <a href="https://etherscan.io/tx/${EXCESS_TX}`);
    expect(text.indexOf(SELLER_TX)).toBeLessThan(text.indexOf(EXCESS_TX));
    expect(text).not.toContain(FEE_TX);
    // A malformed fact is left out rather than shown.
    expect(text).not.toContain('script');

    const buyer = dealNotificationText(released('buyer', 'https://etherscan.io'), 'ru').text;
    expect(buyer).toContain(`0,5 USDT вам: <a href="https://etherscan.io/tx/${EXCESS_TX}`);
    expect(buyer).toContain(`98 USDT продавцу: <a href`);
  });

  it('shows the bare hash when the chain has no explorer, in every locale', () => {
    for (const locale of LOCALES) {
      const { text } = dealNotificationText(released('seller', null), locale);
      expect(text).toContain(`<code>${SELLER_TX}</code>`);
      expect(text).not.toContain('<a ');
    }
  });
});

describe('an expired deal’s refund confirmed', () => {
  const REFUND_TX = `0x${'c3'.repeat(32)}`;
  const refunded = (role: 'seller' | 'buyer'): DealNotificationInput => ({
    ...released(role, 'https://etherscan.io'),
    stateBefore: 'expired',
    stateAfter: 'expired',
    facts: {
      transactions: [
        { kind: 'buyer_refund', recipient: '0xBuyer', amount: '40000000', chainId: 1, txHash: REFUND_TX },
      ],
    },
  });

  it('tells the buyer their partial payment is back, with the transaction, and the deal stays expired', () => {
    const buyer = dealNotificationText(refunded('buyer'), 'en').text;
    expect(buyer).toContain('The return of your payment is confirmed on the chain. The deal stays expired.');
    expect(buyer).toContain(`40 USDT to you: <a href="https://etherscan.io/tx/${REFUND_TX}`);
    const seller = dealNotificationText(refunded('seller'), 'ru').text;
    expect(seller).toContain('Возврат платежа покупателю подтверждён в блокчейне. Сделка остаётся истёкшей.');
    expect(seller).not.toContain('раздел');
  });

  it('tells the parties a failed payout is being sent again after an operator’s retry', () => {
    const input: DealNotificationInput = {
      ...released('buyer', null),
      action: 'retry_payouts',
      stateBefore: 'releasing',
      stateAfter: 'releasing',
      facts: {},
      actor: { kind: 'user', userId: 'op', role: 'operator' },
    };
    expect(dealNotificationText(input, 'en').text).toContain(
      'A payout of this deal had failed. Amanat staff fixed the cause and it is being sent again now.',
    );
  });
});

describe('payout failure review reasons', () => {
  it('reads as a sentence for operators in both languages', () => {
    expect(payoutFailureText('payout_failed:gas_topup:gas_tank_empty')?.en).toBe(
      'The gas top-up of the deposit address failed: the gas tank holds too little native coin; refill it.',
    );
    expect(payoutFailureText('payout_failed:seller:token_paused')?.ru).toBe(
      'Не удалось выполнить выплату продавцу: контракт токена приостановлен.',
    );
    expect(payoutFailureText('payout_failed:seller:something_new')).toBeNull();
    expect(payoutFailureText('late_payment')).toBeNull();
  });

  it('is what the operators’ alert says', () => {
    const { text } = reviewAlertText(
      {
        dealId: 'd1',
        title: 'Camera',
        state: 'releasing',
        reasons: ['payout_failed:fee:fee_address_missing', 'payout_failed:seller:odd thing'],
      },
      'en',
    );
    expect(text).toContain(
      '• The platform fee payout failed: no platform fee address (FEE_ADDRESS) is configured.',
    );
    expect(text).toContain('• Reason: «payout_failed:seller:odd thing»');
  });
});
