import { describe, expect, it } from 'vitest';
import { balanceDriftText, reviewAlertText } from './notifications.ts';

describe('balance drift review reasons', () => {
  it('reads the reconciliation reason as a sentence, for tokens and the native coin', () => {
    const token = balanceDriftText(
      'balance_drift:31337:0x5fbdb2315678afecb367f032d93f642f64180aa3:30000000:50000000',
    );
    expect(token?.en).toBe(
      'On chain 31337, the deposit address holds 30000000 base units of token ' +
        '0x5fbdb2315678afecb367f032d93f642f64180aa3, but the ledger accounts for 50000000: money arrived or ' +
        'left without a record.',
    );
    expect(token?.ru).toContain('30000000');
    expect(balanceDriftText('balance_drift:1:native:5:0')?.en).toContain('base units of the native coin');
    expect(balanceDriftText('balance_drift:1:USDT:5:0')).toBeNull();
    expect(balanceDriftText('late_payment')).toBeNull();
  });

  it('is what the operator alert shows', () => {
    const alert = reviewAlertText(
      { dealId: 'd', title: 'Bike', state: 'funded', reasons: ['balance_drift:31337:native:1000:0'] },
      'en',
    );
    expect(alert.text).toContain('holds 1000 base units of the native coin, but the ledger accounts for 0');
    expect(alert.text).not.toContain('Reason:');
  });
});
