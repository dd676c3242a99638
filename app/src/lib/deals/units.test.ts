import { parseAmount } from '@amanat/core';
import { describe, expect, it } from 'vitest';
import { formatMoney, formatUnits, parseUnits } from './units.ts';

describe('formatUnits', () => {
  it('places the decimal point and drops trailing zeros', () => {
    expect(formatUnits('1234500', 6)).toBe('1.2345');
    expect(formatUnits('1000000', 6)).toBe('1');
    expect(formatUnits('5', 6)).toBe('0.000005');
    expect(formatUnits(0n, 18)).toBe('0');
    expect(formatUnits('42', 0)).toBe('42');
  });

  it('is exact beyond floating point', () => {
    expect(formatUnits('123456789012345678901234567890', 18)).toBe('123456789012.34567890123456789');
  });
});

describe('parseUnits', () => {
  it('reads decimal text into base units', () => {
    expect(parseUnits('12.5', 6)).toEqual({ ok: true, units: 12_500_000n });
    expect(parseUnits(' 12,5 ', 6)).toEqual({ ok: true, units: 12_500_000n });
    expect(parseUnits('.5', 2)).toEqual({ ok: true, units: 50n });
    expect(parseUnits('1.000000', 6)).toEqual({ ok: true, units: 1_000_000n });
  });

  it('refuses what the token cannot hold and what is not an amount', () => {
    expect(parseUnits('1.0000001', 6)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseUnits('', 6)).toEqual({ ok: false, reason: 'empty' });
    expect(parseUnits('1e6', 6)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseUnits('-1', 6)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseUnits('0.00', 6)).toEqual({ ok: false, reason: 'not_positive' });
  });

  it('round-trips with formatUnits', () => {
    for (const units of [1n, 10n ** 18n, 123_456_789n]) {
      const parsed = parseUnits(formatUnits(units, 18), 18);
      expect(parsed).toEqual({ ok: true, units });
    }
  });
});

describe('formatMoney', () => {
  it('writes the amount with its symbol', () => {
    expect(formatMoney('101500000', { decimals: 6, symbol: 'USDT' })).toBe('101.5 USDT');
  });
});

describe('parseUnits → formatUnits agrees with core’s parseAmount', () => {
  // What the app sends is formatUnits of what it parsed; the API parses that with core's parseAmount.
  const sent = (text: string, decimals: number): bigint | null => {
    const parsed = parseUnits(text, decimals);
    if (!parsed.ok) return null;
    return parseAmount(formatUnits(parsed.units, decimals), decimals);
  };
  const inputs = [
    '1',
    '1.',
    '.5',
    '0.5',
    '1.5000000',
    '12,5',
    ' 7 ',
    '100.123456',
    '100.1234567',
    '0',
    '0.0000001',
    '000012.50',
    '1000000000000000',
    '1000000000000000.000001',
    '1000000000000001',
    '99999999999999999999999',
    '1e6',
    '-1',
    '',
    'abc',
  ];

  it.each(inputs.flatMap((text) => [0, 6, 18].map((decimals) => [text, decimals] as const)))(
    '%j with %i decimals: the app accepts it exactly when the API would, with the same units',
    (text, decimals) => {
      const parsed = parseUnits(text, decimals);
      // The same amount written canonically, as core wants it (comma and spaces are the app's leniency).
      const canonical = text.trim().replace(',', '.');
      let core: bigint | null;
      try {
        const cleaned = /^\d*\.?\d*$/.test(canonical)
          ? canonical
              .replace(/^\./, '0.')
              .replace(/\.$/, '')
              .replace(/(\.\d*?)0+$/, '$1')
              .replace(/\.$/, '')
          : canonical;
        core = parseAmount(cleaned, decimals);
      } catch {
        core = null;
      }
      expect(parsed.ok ? parsed.units : null).toBe(core);
      if (parsed.ok) expect(sent(text, decimals)).toBe(parsed.units);
    },
  );
});
