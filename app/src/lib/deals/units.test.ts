import { describe, expect, it } from 'vitest';
import { formatUnits, parseUnits } from './units.ts';

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
