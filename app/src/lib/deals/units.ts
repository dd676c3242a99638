/**
 * Token amounts between base units (bigint, as the API sends them in strings) and the decimal text a
 * person reads and types. Exact: no floating point anywhere near money.
 */

/** "1234500" with 6 decimals → "1.2345". */
export function formatUnits(units: string | bigint, decimals: number): string {
  const value = typeof units === 'bigint' ? units : BigInt(units);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const fraction = decimals > 0 ? (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** An amount with its token's symbol, as the screens show money: "101.5 USDT". */
export const formatMoney = (units: string | bigint, asset: { decimals: number; symbol: string }): string =>
  `${formatUnits(units, asset.decimals)} ${asset.symbol}`;

/** core's MAX_WHOLE_UNITS (money.ts): the API refuses bigger amounts as a typo. */
export const MAX_WHOLE_UNITS = 10n ** 15n;

export type ParsedAmount =
  | { ok: true; units: bigint }
  | { ok: false; reason: 'empty' | 'not_a_number' | 'too_many_decimals' | 'not_positive' | 'too_large' };

/**
 * What a person typed ("12.5", "12,5", ".5", "1.") → base units, refusing more decimals than the token
 * has and more than core accepts. Send `formatUnits(units)` on, never the typed text: core's parser is
 * strict about spelling ("1." or trailing zeros past the decimals are refused there).
 */
export function parseUnits(text: string, decimals: number): ParsedAmount {
  const trimmed = text.trim().replace(',', '.');
  if (trimmed === '') return { ok: false, reason: 'empty' };
  const match = /^(\d+)(?:\.(\d*))?$/.exec(trimmed) ?? /^()\.(\d+)$/.exec(trimmed);
  if (!match) return { ok: false, reason: 'not_a_number' };
  const whole = match[1] || '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) return { ok: false, reason: 'too_many_decimals' };
  // The digit count first, so absurdly long input never becomes a huge bigint.
  if (whole.replace(/^0+/, '').length > MAX_WHOLE_UNITS.toString().length)
    return { ok: false, reason: 'too_large' };
  const scale = 10n ** BigInt(decimals);
  const units = BigInt(whole) * scale + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units > MAX_WHOLE_UNITS * scale) return { ok: false, reason: 'too_large' };
  if (units <= 0n) return { ok: false, reason: 'not_positive' };
  return { ok: true, units };
}
