import { DomainError, toChecksumAddress } from '@amanat/core';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { HDKey } from '@scure/bip32';

/** Non-hardened child indexes stop below 2^31. */
const MAX_INDEX = 2n ** 31n - 1n;

/** An EVM address is the last 20 bytes of keccak256 of the uncompressed public key without its 0x04 prefix. */
function addressOf(compressedPublicKey: Uint8Array): string {
  const uncompressed = secp256k1.ProjectivePoint.fromHex(compressedPublicKey).toRawBytes(false);
  const hash = keccak_256(uncompressed.subarray(1));
  return toChecksumAddress(Buffer.from(hash.subarray(12)).toString('hex'));
}

/**
 * Deposit addresses are children 0/i of the account-level extended public key (m/44'/60'/0'), so the
 * API derives them without ever holding a spending key; the payout signer holds the matching seed.
 * Fails at start if the key is not an account-level public key.
 */
export function depositAddressDeriver(xpub: string): (index: bigint) => string {
  let account: HDKey;
  try {
    account = HDKey.fromExtendedKey(xpub);
  } catch (err) {
    throw new DomainError(
      'config_invalid',
      `DEPOSIT_XPUB: is not a valid extended public key (${(err as Error).message})`,
    );
  }
  if (account.privateKey) {
    throw new DomainError('config_invalid', 'DEPOSIT_XPUB: is a private key; give the API only the xpub');
  }
  if (account.depth !== 3) {
    throw new DomainError(
      'config_invalid',
      `DEPOSIT_XPUB: must be the account key m/44'/60'/0' (depth 3), got depth ${account.depth}`,
    );
  }
  const external = account.deriveChild(0);
  return (index) => {
    if (index < 0n || index > MAX_INDEX) {
      throw new DomainError('deposit_index_exhausted', 'No deposit address index is left for this key');
    }
    const child = external.deriveChild(Number(index));
    if (!child.publicKey)
      throw new DomainError('deposit_derivation_failed', 'Could not derive a deposit address');
    return addressOf(child.publicKey);
  };
}
