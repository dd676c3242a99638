import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateSigningKeyText } from '@amanat/core';
import { mnemonicToSeedSync } from '@scure/bip39';
import { english, generateMnemonic, HDKey, mnemonicToAccount } from 'viem/accounts';

export interface DevSecrets {
  CHECKPOINT_SIGNING_KEY: string;
  PAYMENT_WEBHOOK_SECRET: string;
  /** A bot token shaped like a real one, for development sign-in; never valid at Telegram. */
  TELEGRAM_DEV_BOT_TOKEN: string;
  /** Development-only HD wallet for deposit addresses; the API gets only the account xpub. */
  DEV_DEPOSIT_MNEMONIC: string;
  DEPOSIT_XPUB: string;
  /** What the assist service presents on the API's internal endpoints. */
  ASSIST_SERVICE_SECRET: string;
  /** Local bull-board break-glass password (user `admin`); the API gets only its hash. */
  DEV_ADMIN_PASSWORD: string;
}

/** Account-level extended public key, m/44'/60'/0': deposit addresses are its children 0/i. */
export function accountXpub(mnemonic: string): string {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic));
  return root.derive("m/44'/60'/0'").publicExtendedKey;
}

function generate(): DevSecrets {
  const mnemonic = generateMnemonic(english);
  // Cheap sanity check that the mnemonic is usable the way the payout signer will use it.
  mnemonicToAccount(mnemonic, { addressIndex: 0 });
  return {
    CHECKPOINT_SIGNING_KEY: generateSigningKeyText(),
    PAYMENT_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    TELEGRAM_DEV_BOT_TOKEN: `${1_000_000 + randomBytes(3).readUIntBE(0, 3)}:${randomBytes(27).toString('base64url')}`,
    DEV_DEPOSIT_MNEMONIC: mnemonic,
    DEPOSIT_XPUB: accountXpub(mnemonic),
    ASSIST_SERVICE_SECRET: randomBytes(32).toString('base64url'),
    DEV_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
  };
}

/**
 * Development secrets are generated once and kept under .data/ (git-ignored, mode 0600), so restarts
 * keep sessions, signatures and deposit addresses valid. Production takes them from the environment.
 */
export function loadDevSecrets(file: string): DevSecrets {
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    const complete = { ...generate(), ...stored };
    if (Object.keys(stored).length !== Object.keys(complete).length)
      writeFileSync(file, JSON.stringify(complete, null, 2), { mode: 0o600 });
    return complete;
  }
  mkdirSync(dirname(file), { recursive: true });
  const secrets = generate();
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
