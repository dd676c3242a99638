import { describe, expect, it } from 'vitest';
import { checkAddress, toChecksumAddress } from './address.ts';

// The test vectors of EIP-55 itself.
const VECTORS = [
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];

describe('checkAddress', () => {
  it('computes the EIP-55 checksum', () => {
    for (const v of VECTORS) expect(toChecksumAddress(v.slice(2).toLowerCase())).toBe(v);
  });

  it('accepts correct mixed case and returns single-case input checksummed', () => {
    for (const v of VECTORS) expect(checkAddress(v)).toEqual({ ok: true, address: v });
    const v = VECTORS[0] as string;
    expect(checkAddress(v.toLowerCase())).toEqual({ ok: true, address: v });
    expect(checkAddress(`0x${v.slice(2).toUpperCase()}`)).toEqual({ ok: true, address: v });
  });

  it('refuses mixed case with a wrong checksum (a likely typo)', () => {
    const v = VECTORS[0] as string;
    const flipped = `${v.slice(0, 3)}${v[3] === 'A' ? 'a' : 'A'}${v.slice(4)}`;
    expect(checkAddress(flipped)).toEqual({ ok: false, reason: 'checksum' });
  });

  it('says what is wrong with malformed input', () => {
    expect(checkAddress('')).toEqual({ ok: false, reason: 'empty' });
    expect(checkAddress(` ${VECTORS[0]}`)).toEqual({ ok: false, reason: 'spaces' });
    expect(checkAddress('5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toEqual({
      ok: false,
      reason: 'no_prefix',
    });
    expect(checkAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe')).toEqual({ ok: false, reason: 'shape' });
    expect(checkAddress('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg')).toEqual({
      ok: false,
      reason: 'shape',
    });
    expect(checkAddress(`0x${'0'.repeat(40)}`)).toEqual({ ok: false, reason: 'zero' });
  });
});
