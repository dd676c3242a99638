import { DomainError } from './errors.ts';

/**
 * Amounts are bigint base units. Text only becomes money here, against the asset's own decimals, and
 * only through string and bigint arithmetic: a float would silently round an 18-decimal amount.
 */

/** No deal is bigger than this many whole units; larger input is a typo (or an attack on a column). */
export const MAX_WHOLE_UNITS = 10n ** 15n;
/** What an ERC-20 amount can hold at all. */
export const MAX_UINT256 = 2n ** 256n - 1n;
export const MAX_DECIMALS = 36;

const CANONICAL = /^(\d+)(?:\.(\d+))?$/;
const EXPONENT = /^(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$/;

export interface ParseAmountOptions {
  /** Zero is refused unless the caller says it means it (a zero minimum fee, a zero split share). */
  allowZero?: boolean;
  /** Names the asset in messages ("USDT has 6 decimals"); defaults to "this asset". */
  symbol?: string;
}

function assertDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new Error(`decimals must be an integer from 0 to ${MAX_DECIMALS}, got ${String(decimals)}`);
  }
}

const quote = (text: string): string => `'${text.length > 60 ? `${text.slice(0, 57)}...` : text}'`;

function malformedHint(text: string): string {
  if (/\s/.test(text)) return 'remove the spaces';
  if (text.startsWith('+')) return 'leave out the sign';
  if (/^0[xX]/.test(text)) return 'write it in decimal, not hex';
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text) || /^\d+,\d+$/.test(text)) {
    return "leave out thousands separators and use '.' for the decimal point";
  }
  if (text.startsWith('.')) return `write a digit before the point (${quote(`0${text}`)})`;
  if (text.endsWith('.')) return `leave out the trailing point (${quote(text.slice(0, -1))})`;
  return 'use digits with at most one decimal point';
}

/**
 * Parses a decimal string such as '10.5' into base units of an asset with `decimals` decimals.
 * Strict on purpose: anything a user could mean two ways is refused with a message saying how to write it.
 */
export function parseAmount(input: unknown, decimals: number, opts: ParseAmountOptions = {}): bigint {
  assertDecimals(decimals);
  const asset = opts.symbol ?? 'this asset';
  if (typeof input !== 'string') {
    throw new DomainError(
      'amount_not_string',
      `The amount must be a decimal string such as '10.5', got ${input === null ? 'null' : typeof input}; send it as text so no precision is lost`,
    );
  }
  if (input.trim() === '') {
    throw new DomainError('amount_empty', "The amount is empty; give a decimal number such as '10.5'");
  }
  if (input.startsWith('-')) {
    throw new DomainError(
      'amount_negative',
      `The amount ${quote(input)} is negative; give a positive amount`,
    );
  }
  if (EXPONENT.test(input)) {
    throw new DomainError(
      'amount_exponent',
      `The amount ${quote(input)} uses exponent notation; write it out in full digits (for example '1000000' instead of '1e6')`,
    );
  }
  const match = CANONICAL.exec(input);
  if (!match) {
    throw new DomainError(
      'amount_not_numeric',
      `The amount ${quote(input)} is not a decimal number: ${malformedHint(input)}`,
    );
  }
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';

  if (fraction.length > decimals) {
    const excess = fraction.slice(decimals);
    const kept = fraction.slice(0, decimals).replace(/0+$/, '');
    const zerosNote = /^0+$/.test(excess)
      ? ` (trailing zeros count too: write ${quote(kept === '' ? whole : `${whole}.${kept}`)})`
      : '';
    const has = decimals === 0 ? `${asset} has no decimals` : `${asset} has ${decimals} decimals`;
    throw new DomainError(
      'amount_too_precise',
      `${has}; ${quote(input)} has ${fraction.length}${zerosNote}. Round it to at most ${decimals} digits after the point`,
      { decimals, given: fraction.length },
    );
  }

  const tooLarge = () =>
    new DomainError(
      'amount_too_large',
      `The amount ${quote(input)} is too large; at most ${MAX_WHOLE_UNITS.toString()} whole units are accepted. Check for extra digits`,
    );
  // Checked on the digit count first so absurdly long input never becomes a huge bigint.
  if (whole.replace(/^0+/, '').length > MAX_WHOLE_UNITS.toString().length) throw tooLarge();

  const scale = 10n ** BigInt(decimals);
  const units = BigInt(whole) * scale + (fraction === '' ? 0n : BigInt(fraction.padEnd(decimals, '0')));
  if (units > MAX_WHOLE_UNITS * scale || units > MAX_UINT256) throw tooLarge();
  if (units === 0n && !opts.allowZero) {
    throw new DomainError('amount_zero', `The amount ${quote(input)} is zero; give an amount above zero`);
  }
  return units;
}

/** The canonical decimal string of base units: no trailing zeros, no trailing point. */
export function formatAmount(units: bigint, decimals: number): string {
  assertDecimals(decimals);
  if (typeof units !== 'bigint') throw new TypeError(`units must be a bigint, got ${typeof units}`);
  if (units < 0n) throw new Error(`amounts are never negative, got ${units.toString()}`);
  if (decimals === 0) return units.toString();
  const scale = 10n ** BigInt(decimals);
  const whole = (units / scale).toString();
  const fraction = (units % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}
