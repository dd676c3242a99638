import { readFileSync } from 'node:fs';
import { ConfigError } from '@amanat/core';
import { type Hex, toHex } from 'viem';
import { english, type LocalAccount, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import type { SignerAccount } from './types.ts';

/** The configuration `loadPayoutKeys` reads (a subset of WorkersConfig with the payouts role). */
export interface PayoutKeysConfig {
  PAYOUT_MNEMONIC_FILE?: string | undefined;
  PAYOUT_MNEMONIC?: string | undefined;
  GAS_TANK_KEY_FILE?: string | undefined;
  GAS_TANK_KEY?: string | undefined;
  DEPOSIT_XPUB?: string | undefined;
}

/** The payout signer's spending keys. Nothing reachable from this object shows the secret material. */
export interface PayoutKeys {
  /** The deposit address m/44'/60'/0'/0/<index>'s key (the address the API derived from DEPOSIT_XPUB). */
  depositSigner(derivationIndex: bigint): SignerAccount;
  gasTank: SignerAccount;
}

/** The account the API's DEPOSIT_XPUB stands for; deposit addresses are its children 0/i. */
export const DEPOSIT_ACCOUNT_PATH = "m/44'/60'/0'";
const MAX_INDEX = 2n ** 31n - 1n;
const SERVICE = 'workers';

/**
 * Reads the mnemonic and the gas-tank key (file or environment), checks the mnemonic derives
 * DEPOSIT_XPUB, and throws a ConfigError naming what to fix otherwise (use inside startupOrExit).
 */
export function loadPayoutKeys(config: PayoutKeysConfig): PayoutKeys {
  const problems: string[] = [];
  let depositSigner: PayoutKeys['depositSigner'] | null = null;
  let gasTank: SignerAccount | null = null;
  try {
    depositSigner = depositSignerFrom(readSecret(config, 'PAYOUT_MNEMONIC'), config.DEPOSIT_XPUB);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    gasTank = gasTankFrom(readSecret(config, 'GAS_TANK_KEY'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || !depositSigner || !gasTank) throw new ConfigError(SERVICE, problems);
  return Object.freeze({ depositSigner, gasTank });
}

/** `<NAME>_FILE`'s content or `<NAME>`, trimmed. Messages name the file and the reason, never the content. */
function readSecret(config: PayoutKeysConfig, name: 'PAYOUT_MNEMONIC' | 'GAS_TANK_KEY'): string {
  const file = config[`${name}_FILE`];
  const inline = config[name];
  if (file && inline) throw new ConfigError(SERVICE, [`${name}: set ${name}_FILE or ${name}, not both`]);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'it does not exist'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'it is a directory'
              : (code ?? 'read failed');
      throw new ConfigError(SERVICE, [`${name}_FILE: cannot read ${file} (${why})`]);
    }
    const value = text.trim();
    if (!value) throw new ConfigError(SERVICE, [`${name}_FILE: ${file} is empty`]);
    return value;
  }
  const value = inline?.trim();
  if (!value)
    throw new ConfigError(SERVICE, [`${name}: ${name}_FILE or ${name} is required for the payouts role`]);
  return value;
}

function depositSignerFrom(
  mnemonic: string,
  depositXpub: string | undefined,
): (derivationIndex: bigint) => SignerAccount {
  const name = 'PAYOUT_MNEMONIC';
  if (!depositXpub) throw new ConfigError(SERVICE, ['DEPOSIT_XPUB: is required for the payouts role']);
  const words = mnemonic.split(/\s+/);
  // The words are checked, not shown: a typo'd word named in a log is a quarter of a leak.
  const unknown = words.filter((w) => !english.includes(w)).length;
  if (![12, 15, 18, 21, 24].includes(words.length) || unknown > 0) {
    throw new ConfigError(SERVICE, [
      `${name}: is not a BIP-39 English mnemonic (${words.length} words, ${unknown} not in the word list)`,
    ]);
  }
  // viem's HD account at path 'm' is the root key; nothing else in viem hands out the seed's root.
  const root = mnemonicToAccount(mnemonic, { path: 'm' as `m/44'/60'/${string}` }).getHdKey();
  const account = root.derive(DEPOSIT_ACCOUNT_PATH);
  if (account.publicExtendedKey !== depositXpub) {
    throw new ConfigError(SERVICE, [
      `${name}: derives ${account.publicExtendedKey.slice(0, 16)}… at ${DEPOSIT_ACCOUNT_PATH}, not DEPOSIT_XPUB ` +
        `(${depositXpub.slice(0, 16)}…): this mnemonic does not hold the deposit addresses the API hands out`,
    ]);
  }
  const external = account.deriveChild(0);
  return (index) => {
    if (index < 0n || index > MAX_INDEX)
      throw new RangeError(`deposit derivation index ${index} is out of range`);
    const child = external.deriveChild(Number(index));
    if (!child.privateKey) throw new Error(`could not derive the key of deposit index ${index}`);
    return signerOf(privateKeyToAccount(toHex(child.privateKey)));
  };
}

function gasTankFrom(key: string): SignerAccount {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError(SERVICE, ['GAS_TANK_KEY: must be 0x followed by 64 hex digits']);
  try {
    return signerOf(privateKeyToAccount(key as Hex));
  } catch {
    throw new ConfigError(SERVICE, ['GAS_TANK_KEY: is not a valid secp256k1 private key']);
  }
}

/**
 * The key stays in viem's closure: the object has an address and a method, so logging or serialising it
 * (JSON.stringify, util.inspect, pino) shows the address only.
 */
function signerOf(account: LocalAccount): SignerAccount {
  const signer: SignerAccount = {
    address: account.address,
    signTransaction: (tx) => account.signTransaction({ type: 'eip1559', ...tx }),
  };
  return Object.freeze(signer);
}
