import fc from 'fast-check';
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { addressSchema, parseAddress, toChecksumAddress } from './address.ts';
import { codeOf } from './testing.ts';

// Tether's contract on Ethereum, as published with its EIP-55 checksum.
const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';

describe('parseAddress', () => {
  it('returns a correctly checksummed address unchanged', () => {
    expect(parseAddress(USDT)).toBe(USDT);
    expect(parseAddress('0x5FbDB2315678afecb367f032d93F642f64180aa3')).toBe(
      '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    );
  });

  it('accepts all-lowercase and all-uppercase hex and normalizes to EIP-55', () => {
    expect(parseAddress(USDT.toLowerCase())).toBe(USDT);
    expect(parseAddress(`0x${USDT.slice(2).toUpperCase()}`)).toBe(USDT);
  });

  it('refuses a mistyped character in a checksummed address (7 typed as 8)', () => {
    const typo = '0xdAC17F958D2ee523a2206206994597C13D831ec8';
    expect(codeOf(() => parseAddress(typo))).toBe('address_checksum');
    expect(() => parseAddress(typo)).toThrow(/mistyped/);
  });

  it('refuses a checksummed address with one letter in the wrong case', () => {
    expect(codeOf(() => parseAddress('0xDAC17F958D2ee523a2206206994597C13D831ec7'))).toBe('address_checksum');
  });

  it.each([
    ['', 'address_invalid'],
    ['dAC17F958D2ee523a2206206994597C13D831ec7', 'address_invalid'],
    ['0XdAC17F958D2ee523a2206206994597C13D831ec7', 'address_invalid'],
    [`${USDT}0`, 'address_invalid'],
    [USDT.slice(0, -1), 'address_invalid'],
    [` ${USDT}`, 'address_invalid'],
    ['0xgAC17F958D2ee523a2206206994597C13D831ec7', 'address_invalid'],
    ['vitalik.eth', 'address_invalid'],
    [42, 'address_invalid'],
    [null, 'address_invalid'],
    ['0x0000000000000000000000000000000000000000', 'address_zero'],
  ])('rejects %j with %s', (input, code) => {
    expect(codeOf(() => parseAddress(input))).toBe(code);
  });

  it('says what is wrong with the shape', () => {
    expect(() => parseAddress(` ${USDT}`)).toThrow(/remove the spaces/);
    expect(() => parseAddress(USDT.slice(0, -1))).toThrow(/39 characters after 0x/);
    expect(() => parseAddress('vitalik.eth')).toThrow(/must start with 0x/);
  });
});

describe('addressSchema', () => {
  it('normalizes good addresses and turns rejections into issues carrying the message', () => {
    expect(addressSchema.parse(USDT.toLowerCase())).toBe(USDT);
    const result = addressSchema.safeParse('0xdAC17F958D2ee523a2206206994597C13D831ec8');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/EIP-55/);
  });
});

describe('EIP-55 checksum', () => {
  it('matches viem, an independent implementation, on random addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
        const lower = Buffer.from(bytes).toString('hex');
        expect(toChecksumAddress(lower)).toBe(getAddress(`0x${lower}`));
      }),
      { numRuns: 500 },
    );
  });
});
