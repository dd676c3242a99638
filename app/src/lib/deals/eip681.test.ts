import { describe, expect, it } from 'vitest';
import { paymentLink } from './eip681.ts';

const deposit = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const usdt = '0xdAC17F958D2ee523a2206206994597C13D831ec7';

describe('paymentLink', () => {
  it('asks for a token transfer to the deposit address with the exact base units', () => {
    expect(paymentLink({ chainId: 1, token: usdt, depositAddress: deposit, units: 12_500_000n })).toBe(
      `ethereum:${usdt}@1/transfer?address=${deposit}&uint256=12500000`,
    );
  });

  it('sends the native coin as a value to the deposit address', () => {
    expect(paymentLink({ chainId: 137, token: 'native', depositAddress: deposit, units: '10' })).toBe(
      `ethereum:${deposit}@137?value=10`,
    );
  });

  it('writes huge amounts exactly, never in exponent notation', () => {
    const units = 123456789012345678901234567890n;
    expect(paymentLink({ chainId: 1, token: 'native', depositAddress: deposit, units })).toBe(
      `ethereum:${deposit}@1?value=123456789012345678901234567890`,
    );
  });

  it('refuses a negative amount', () => {
    expect(() => paymentLink({ chainId: 1, token: 'native', depositAddress: deposit, units: -1n })).toThrow(
      RangeError,
    );
  });
});
