import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.ts';
import { formatAmount, MAX_UINT256, MAX_WHOLE_UNITS, parseAmount } from './money.ts';
import { codeOf } from './testing.ts';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error, nothing was thrown');
};

describe('parseAmount', () => {
  it.each([
    ['0', 6, 0n],
    ['1', 6, 1_000_000n],
    ['1.5', 6, 1_500_000n],
    ['10.000001', 6, 10_000_001n],
    ['0.000001', 6, 1n],
    ['007.25', 2, 725n],
    ['1.10', 6, 1_100_000n],
    ['1', 18, 10n ** 18n],
    ['0.0005', 18, 500_000_000_000_000n],
    ['42', 0, 42n],
    ['1000000000000000', 0, MAX_WHOLE_UNITS],
    ['1000000000000000', 36, MAX_WHOLE_UNITS * 10n ** 36n],
    ['0.000000000000000000000000000000000001', 36, 1n],
  ])('parses %s with %i decimals', (text, decimals, expected) => {
    expect(parseAmount(text, decimals, { allowZero: true })).toBe(expected);
  });

  it.each([
    [10, 'amount_not_string'],
    [null, 'amount_not_string'],
    [undefined, 'amount_not_string'],
    [{}, 'amount_not_string'],
    ['', 'amount_empty'],
    ['   ', 'amount_empty'],
    ['-1', 'amount_negative'],
    ['-0.5', 'amount_negative'],
    ['1e6', 'amount_exponent'],
    ['1E6', 'amount_exponent'],
    ['1.5e-3', 'amount_exponent'],
    ['2e+3', 'amount_exponent'],
    ['1,000', 'amount_not_numeric'],
    ['1,5', 'amount_not_numeric'],
    [' 1', 'amount_not_numeric'],
    ['1 ', 'amount_not_numeric'],
    ['1 000', 'amount_not_numeric'],
    ['NaN', 'amount_not_numeric'],
    ['Infinity', 'amount_not_numeric'],
    ['0x10', 'amount_not_numeric'],
    ['+1', 'amount_not_numeric'],
    ['.5', 'amount_not_numeric'],
    ['5.', 'amount_not_numeric'],
    ['.', 'amount_not_numeric'],
    ['1.2.3', 'amount_not_numeric'],
    ['e', 'amount_not_numeric'],
    ['1e', 'amount_not_numeric'],
    ['١٢', 'amount_not_numeric'],
    ['1_000', 'amount_not_numeric'],
    ['0', 'amount_zero'],
    ['0.000000', 'amount_zero'],
    ['000', 'amount_zero'],
    ['1.1234567', 'amount_too_precise'],
    ['1.0000000', 'amount_too_precise'],
    ['1000000000000000.000001', 'amount_too_large'],
    ['1000000000000001', 'amount_too_large'],
    ['9'.repeat(10_000), 'amount_too_large'],
  ])('rejects %j with %s (6 decimals)', (input, code) => {
    expect(codeOf(() => parseAmount(input, 6))).toBe(code);
  });

  it('rejects a bigint: amounts arrive as text and become units only here', () => {
    expect(codeOf(() => parseAmount(10n, 6))).toBe('amount_not_string');
  });

  it('accepts zero only when allowed', () => {
    expect(parseAmount('0', 6, { allowZero: true })).toBe(0n);
    expect(parseAmount('0.00', 6, { allowZero: true })).toBe(0n);
    expect(codeOf(() => parseAmount('0', 6, { allowZero: false }))).toBe('amount_zero');
  });

  it('says how many decimals the asset has and how many were given', () => {
    expect(messageOf(() => parseAmount('1.1234567', 6, { symbol: 'USDT' }))).toMatch(
      /^USDT has 6 decimals; '1\.1234567' has 7/,
    );
    expect(messageOf(() => parseAmount('5.5', 0, { symbol: 'DOT' }))).toMatch(
      /^DOT has no decimals; '5\.5' has 1/,
    );
  });

  it('is strict about trailing zeros beyond the decimals and says what to write', () => {
    const message = messageOf(() => parseAmount('2.5000000', 6, { symbol: 'USDT' }));
    expect(message).toContain('trailing zeros count too');
    expect(message).toContain("write '2.5'");
    expect(messageOf(() => parseAmount('3.0', 0))).toContain("write '3'");
  });

  it('gives a hint that fits the mistake', () => {
    expect(messageOf(() => parseAmount('1,000', 6))).toContain('thousands separators');
    expect(messageOf(() => parseAmount(' 1', 6))).toContain('remove the spaces');
    expect(messageOf(() => parseAmount('+1', 6))).toContain('sign');
    expect(messageOf(() => parseAmount('0x10', 6))).toContain('not hex');
    expect(messageOf(() => parseAmount('.5', 6))).toContain("'0.5'");
    expect(messageOf(() => parseAmount('5.', 6))).toContain("'5'");
    expect(messageOf(() => parseAmount('1e6', 6))).toContain("'1000000'");
    expect(messageOf(() => parseAmount('1000000000000001', 6))).toContain('1000000000000000 whole units');
  });

  it('uses the right scale per asset: the same text is different base units at 6 and 18 decimals', () => {
    expect(parseAmount('12.34', 6)).toBe(12_340_000n);
    expect(parseAmount('12.34', 18)).toBe(12_340_000_000_000_000_000n);
  });

  it.each([-1, 37, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'treats decimals=%s as a programming error',
    (decimals) => {
      const thrown = (() => {
        try {
          parseAmount('1', decimals);
        } catch (error) {
          return error;
        }
      })();
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown).not.toBeInstanceOf(DomainError);
    },
  );
});

describe('formatAmount', () => {
  it.each([
    [0n, 6, '0'],
    [1n, 6, '0.000001'],
    [1_000_000n, 6, '1'],
    [1_500_000n, 6, '1.5'],
    [10_000_001n, 6, '10.000001'],
    [123n, 0, '123'],
    [10n ** 18n, 18, '1'],
    [500_000_000_000_000n, 18, '0.0005'],
    [MAX_UINT256, 0, MAX_UINT256.toString()],
  ])('formats %s with %i decimals as %s', (units, decimals, expected) => {
    expect(formatAmount(units, decimals)).toBe(expected);
  });

  it('refuses negative amounts and bad decimals as programming errors', () => {
    expect(() => formatAmount(-1n, 6)).toThrow(/never negative/);
    expect(() => formatAmount(1n, 37)).toThrow(/decimals/);
    expect(() => formatAmount(1 as unknown as bigint, 6)).toThrow(TypeError);
  });
});

describe('round trips', () => {
  const decimalsArb = fc.integer({ min: 0, max: 36 });

  it('parse(format(units)) === units for every amount under the caps', () => {
    fc.assert(
      fc.property(
        decimalsArb.chain((decimals) => {
          const cap = MAX_WHOLE_UNITS * 10n ** BigInt(decimals);
          const max = cap < MAX_UINT256 ? cap : MAX_UINT256;
          return fc.tuple(fc.constant(decimals), fc.bigInt({ min: 0n, max }));
        }),
        ([decimals, units]) => {
          expect(parseAmount(formatAmount(units, decimals), decimals, { allowZero: true })).toBe(units);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('format(parse(text)) === text for every canonical decimal string', () => {
    const canonical = decimalsArb.chain((decimals) =>
      fc
        .tuple(
          fc.bigInt({ min: 0n, max: MAX_WHOLE_UNITS - 1n }),
          decimals === 0
            ? fc.constant('')
            : fc
                .string({ unit: fc.constantFrom(...'0123456789'), maxLength: decimals })
                .map((digits) => digits.replace(/0+$/, '')),
        )
        .map(([whole, fraction]) => ({
          decimals,
          text: fraction === '' ? whole.toString() : `${whole.toString()}.${fraction}`,
        })),
    );
    fc.assert(
      fc.property(canonical, ({ decimals, text }) => {
        expect(formatAmount(parseAmount(text, decimals, { allowZero: true }), decimals)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('non-canonical but valid text parses to the same units as its canonical form', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (units, leadingZeros, trailingZeros) => {
          const decimals = 18;
          const canonical = formatAmount(units, decimals);
          const [whole = '', fraction = ''] = canonical.split('.');
          const padded = `${'0'.repeat(leadingZeros)}${whole}.${fraction}${'0'.repeat(Math.min(trailingZeros, decimals - fraction.length))}`;
          const text = padded.endsWith('.') ? `${padded}0` : padded;
          expect(parseAmount(text, decimals, { allowZero: true })).toBe(units);
        },
      ),
    );
  });

  it('never converts amounts to floats', () => {
    const source = readFileSync(new URL('./money.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/Number\(|parseFloat|parseInt|Math\.|toFixed/);
  });
});
