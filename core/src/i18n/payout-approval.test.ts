import { describe, expect, it } from 'vitest';
import type { Actor } from '../activity-log.ts';
import { dealNotificationText, payoutApprovalText, reviewAlertText } from './notifications.ts';

const operator: Actor = { kind: 'user', userId: 'op', role: 'operator' };

describe('payout approval texts', () => {
  it('reads the review reason as a sentence naming the payout, in both languages', () => {
    expect(payoutApprovalText('payout_approval_required:17')).toEqual({
      en: 'Payout #17 is above the approval threshold and waits for an operator to approve it on the review screen.',
      ru: 'Выплата №17 превышает порог одобрения и ждёт, пока оператор одобрит её на экране проверок.',
    });
    expect(payoutApprovalText('payout_approval_required:x')).toBeNull();
    expect(payoutApprovalText('late_payment')).toBeNull();
    const alert = reviewAlertText(
      { dealId: 'd', title: 'Bike', state: 'releasing', reasons: ['payout_approval_required:17'] },
      'ru',
    );
    expect(alert.text).toContain('Выплата №17 превышает порог одобрения');
    expect(alert.text).not.toContain('Причина:');
  });

  it('tells the parties an approved payout is on its way, with its amount in its own asset', () => {
    const text = dealNotificationText(
      {
        action: 'approve_payout',
        stateBefore: 'releasing',
        stateAfter: 'releasing',
        facts: { amount: '5000000000', asset: { chainId: 1, token: '0xt' } },
        actor: operator,
        recipient: { userId: 's', role: 'seller' },
        deal: {
          title: 'Camera',
          amountDue: 1n,
          asset: { symbol: 'USDT', decimals: 6 },
          deadlines: { payment: null, delivery: null, inspection: null },
        },
        assetOf: () => ({ symbol: 'USDC', decimals: 6 }),
      },
      'en',
    ).text;
    expect(text).toContain('Amanat staff approved the payout of 5,000 USDC; it is being sent now.');
  });
});
