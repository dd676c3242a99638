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

export type ParsedAmount =
  | { ok: true; units: bigint }
  | { ok: false; reason: 'empty' | 'not_a_number' | 'too_many_decimals' | 'not_positive' };

/** What a person typed ("12.5", "12,5") → base units, refusing more decimals than the token has. */
export function parseUnits(text: string, decimals: number): ParsedAmount {
  const trimmed = text.trim().replace(',', '.');
  if (trimmed === '') return { ok: false, reason: 'empty' };
  const match = /^(\d+)(?:\.(\d*))?$/.exec(trimmed) ?? /^()\.(\d+)$/.exec(trimmed);
  if (!match) return { ok: false, reason: 'not_a_number' };
  const whole = match[1] || '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) return { ok: false, reason: 'too_many_decimals' };
  const units = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units <= 0n) return { ok: false, reason: 'not_positive' };
  return { ok: true, units };
}
