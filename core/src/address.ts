import { keccak_256 } from '@noble/hashes/sha3';
import type { Address } from 'viem';
import { z } from 'zod';
import { DomainError } from './errors.ts';

const SHAPE = /^0x[0-9a-fA-F]{40}$/;
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;

/**
 * EIP-55: a hex letter is upper case where the matching nibble of keccak256(lower-case hex) is 8 or more.
 * Written out here (rather than taken from viem's root) so every process importing core does not load
 * all of viem.
 */
export function toChecksumAddress(lowerHex40: string): Address {
  const hash = keccak_256(new TextEncoder().encode(lowerHex40));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = ((hash[i >> 1] as number) >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = lowerHex40[i] as string;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out as Address;
}

const shown = (text: string): string => `'${text.length > 60 ? `${text.slice(0, 57)}...` : text}'`;

/**
 * Parses an EVM address a person typed or pasted and returns its EIP-55 form.
 *
 * Mixed case carries a checksum: a wrong one almost always means a mistyped character, and money sent
 * to a typo is gone, so it is refused rather than "corrected". Single-case input carries no checksum
 * and is accepted as is.
 */
export function parseAddress(input: unknown): Address {
  if (typeof input !== 'string') {
    throw new DomainError(
      'address_invalid',
      `An address must be a string of 0x followed by 40 hex digits, got ${input === null ? 'null' : typeof input}`,
    );
  }
  if (!SHAPE.test(input)) {
    const hint =
      input.trim() !== input
        ? 'remove the spaces around it'
        : /^0x/i.test(input)
          ? `it has ${input.length - 2} characters after 0x, and only 0-9 and a-f are allowed`
          : 'it must start with 0x';
    throw new DomainError(
      'address_invalid',
      `${shown(input)} is not an EVM address (0x followed by 40 hex digits): ${hint}`,
    );
  }
  const hex = input.slice(2);
  const checksummed = toChecksumAddress(hex.toLowerCase());
  const singleCase = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!singleCase && checksummed !== input) {
    throw new DomainError(
      'address_checksum',
      `${input} fails its EIP-55 checksum (the mix of upper and lower case letters does not match), which usually ` +
        'means a character was mistyped. Copy the address again from the wallet it belongs to',
    );
  }
  if (checksummed === ZERO_ADDRESS) {
    throw new DomainError(
      'address_zero',
      'The zero address (0x000…000) belongs to nobody: money sent there is burned. Give the address of a real wallet',
    );
  }
  return checksummed;
}

/** A zod schema running the same checks, for configuration and request bodies. */
export const addressSchema = z.string().transform((text, ctx): Address => {
  try {
    return parseAddress(text);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message, params: { code: error.code } });
    return z.NEVER;
  }
});
