import { keccak_256 } from '@noble/hashes/sha3';

/**
 * The same address rules the API applies (core/src/address.ts), checked as the user types so a typo is
 * caught before it is sent: money sent to a mistyped address is gone.
 */
export type AddressCheck =
  | { ok: true; address: string }
  | { ok: false; reason: 'empty' | 'spaces' | 'no_prefix' | 'shape' | 'checksum' | 'zero' };

const SHAPE = /^0x[0-9a-fA-F]{40}$/;

/** EIP-55: a letter is upper case where the matching nibble of keccak256(lower-case hex) is 8 or more. */
export function toChecksumAddress(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = ((hash[i >> 1] as number) >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = lower[i] as string;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

export function checkAddress(input: string): AddressCheck {
  if (input === '') return { ok: false, reason: 'empty' };
  if (input.trim() !== input) return { ok: false, reason: 'spaces' };
  if (!/^0x/i.test(input)) return { ok: false, reason: 'no_prefix' };
  if (!SHAPE.test(input)) return { ok: false, reason: 'shape' };
  const hex = input.slice(2);
  const checksummed = toChecksumAddress(hex);
  const singleCase = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!singleCase && checksummed !== input) return { ok: false, reason: 'checksum' };
  if (/^0x0{40}$/.test(checksummed)) return { ok: false, reason: 'zero' };
  return { ok: true, address: checksummed };
}
