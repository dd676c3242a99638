import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { mnemonicToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../core/src/testing.ts';
import { accountXpub } from '../../../devstack/secrets.ts';
import { TEST_MNEMONIC, TEST_XPUB } from '../testing.ts';
import { depositAddressDeriver } from './deposit-address.ts';

describe('deposit addresses from the account xpub', () => {
  it("are the wallet's own m/44'/60'/0'/0/i addresses (checked against viem's HD wallet)", () => {
    const derive = depositAddressDeriver(TEST_XPUB);
    for (const i of [0, 1, 2, 7, 1000]) {
      expect(derive(BigInt(i))).toBe(mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i }).address);
    }
  });

  it('refuses anything but an account-level public key', () => {
    expect(codeOf(() => depositAddressDeriver('xpub-not-a-key'))).toBe('config_invalid');
    const root = HDKey.fromMasterSeed(mnemonicToSeedSync(TEST_MNEMONIC));
    // The master public key (depth 0) would derive addresses the payout signer does not look for.
    expect(codeOf(() => depositAddressDeriver(root.publicExtendedKey))).toBe('config_invalid');
    // A private key must never reach the API.
    expect(codeOf(() => depositAddressDeriver(root.derive("m/44'/60'/0'").privateExtendedKey))).toBe(
      'config_invalid',
    );
    expect(
      depositAddressDeriver(
        accountXpub('legal winner thank year wave sausage worth useful legal winner thank yellow'),
      )(0n),
    ).not.toBe(depositAddressDeriver(TEST_XPUB)(0n));
    expect(codeOf(() => depositAddressDeriver(TEST_XPUB)(2n ** 31n))).toBe('deposit_index_exhausted');
  });
});
