import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { ConfigError, hasRole, loadConfig, WORKER_ROLES, workersConfigSchema } from '@amanat/core';
import { createLogger } from '@amanat/platform';
import { parseTransaction, recoverTransactionAddress, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { depositAddressDeriver } from '../../../api/src/deals/deposit-address.ts';
import { TEST_MNEMONIC, TEST_XPUB } from '../../../api/src/testing.ts';
import { accountXpub } from '../../../devstack/secrets.ts';
import { loadPayoutKeys } from './keys.ts';

const GAS_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const OTHER_MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const dir = mkdtempSync(join(tmpdir(), 'amanat-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadPayoutKeys', () => {
  it("derives the deposit addresses the API hands out from DEPOSIT_XPUB (m/44'/60'/0'/0/i)", () => {
    const keys = loadPayoutKeys({
      PAYOUT_MNEMONIC: TEST_MNEMONIC,
      GAS_TANK_KEY: GAS_KEY,
      DEPOSIT_XPUB: TEST_XPUB,
    });
    const derive = depositAddressDeriver(TEST_XPUB);
    for (const i of [0n, 1n, 7n, 1000n, 2n ** 31n - 1n])
      expect(keys.depositSigner(i).address).toBe(derive(i));
    // anvil's dev account 0 is the same mnemonic's 0/0: a second, independent derivation.
    expect(keys.depositSigner(0n).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(keys.gasTank.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(() => keys.depositSigner(-1n)).toThrow(RangeError);
    expect(() => keys.depositSigner(2n ** 31n)).toThrow(RangeError);
  });

  it('signs EIP-1559 transactions that recover to the signer address', async () => {
    const keys = loadPayoutKeys({
      PAYOUT_MNEMONIC: TEST_MNEMONIC,
      GAS_TANK_KEY: GAS_KEY,
      DEPOSIT_XPUB: TEST_XPUB,
    });
    const signer = keys.depositSigner(5n);
    const raw = await signer.signTransaction({
      chainId: 31337,
      nonce: 3,
      to: keys.gasTank.address,
      value: 12n,
      gas: 21_000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000n,
    });
    const tx = parseTransaction(raw);
    expect(tx).toMatchObject({ type: 'eip1559', chainId: 31337, nonce: 3, value: 12n, gas: 21_000n });
    expect(await recoverTransactionAddress({ serializedTransaction: raw as never })).toBe(signer.address);
  });

  it('reads the secrets from files, trimmed', () => {
    const mnemonicFile = join(dir, 'mnemonic');
    const keyFile = join(dir, 'gas-key');
    writeFileSync(mnemonicFile, `  ${TEST_MNEMONIC}\n`);
    writeFileSync(keyFile, `${GAS_KEY}\n`);
    const keys = loadPayoutKeys({
      PAYOUT_MNEMONIC_FILE: mnemonicFile,
      GAS_TANK_KEY_FILE: keyFile,
      DEPOSIT_XPUB: TEST_XPUB,
    });
    expect(keys.depositSigner(3n).address).toBe(depositAddressDeriver(TEST_XPUB)(3n));
    expect(keys.gasTank.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });

  it('refuses a mnemonic that does not derive DEPOSIT_XPUB, naming both', () => {
    const problems = problemsOf(() =>
      loadPayoutKeys({ PAYOUT_MNEMONIC: OTHER_MNEMONIC, GAS_TANK_KEY: GAS_KEY, DEPOSIT_XPUB: TEST_XPUB }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PAYOUT_MNEMONIC: derives xpub.*not DEPOSIT_XPUB/);
    expect(problems[0]).not.toContain('abandon');
    // The right mnemonic for that xpub is accepted.
    expect(() =>
      loadPayoutKeys({
        PAYOUT_MNEMONIC: OTHER_MNEMONIC,
        GAS_TANK_KEY: GAS_KEY,
        DEPOSIT_XPUB: accountXpub(OTHER_MNEMONIC),
      }),
    ).not.toThrow();
  });

  it('says which file failed and why, never what is in it', () => {
    const missing = join(dir, 'nope');
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    const empty = join(dir, 'empty');
    writeFileSync(empty, ' \n');
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'correct horse battery staple secretword\n');
    const badKey = join(dir, 'bad-key');
    writeFileSync(badKey, '0xdeadbeefcafe\n');

    expect(
      problemsOf(() =>
        loadPayoutKeys({ PAYOUT_MNEMONIC_FILE: missing, GAS_TANK_KEY_FILE: folder, DEPOSIT_XPUB: TEST_XPUB }),
      ),
    ).toEqual([
      `PAYOUT_MNEMONIC_FILE: cannot read ${missing} (it does not exist)`,
      `GAS_TANK_KEY_FILE: cannot read ${folder} (it is a directory)`,
    ]);
    const problems = problemsOf(() =>
      loadPayoutKeys({ PAYOUT_MNEMONIC_FILE: garbage, GAS_TANK_KEY_FILE: badKey, DEPOSIT_XPUB: TEST_XPUB }),
    );
    expect(problems).toEqual([
      'PAYOUT_MNEMONIC: is not a BIP-39 English mnemonic (5 words, 3 not in the word list)',
      'GAS_TANK_KEY: must be 0x followed by 64 hex digits',
    ]);
    expect(problems.join('\n')).not.toMatch(/secretword|horse|deadbeef/);
    expect(
      problemsOf(() =>
        loadPayoutKeys({ PAYOUT_MNEMONIC_FILE: empty, GAS_TANK_KEY: GAS_KEY, DEPOSIT_XPUB: TEST_XPUB }),
      ),
    ).toEqual([`PAYOUT_MNEMONIC_FILE: ${empty} is empty`]);
    expect(
      problemsOf(() =>
        loadPayoutKeys({
          PAYOUT_MNEMONIC: TEST_MNEMONIC,
          GAS_TANK_KEY: `0x${'0'.repeat(64)}`,
          DEPOSIT_XPUB: TEST_XPUB,
        }),
      ),
    ).toEqual(['GAS_TANK_KEY: is not a valid secp256k1 private key']);
    expect(
      problemsOf(() => loadPayoutKeys({ PAYOUT_MNEMONIC: TEST_MNEMONIC, GAS_TANK_KEY: GAS_KEY })),
    ).toEqual(['DEPOSIT_XPUB: is required for the payouts role']);
  });

  it('shows nothing secret when the keys are serialised, inspected or logged', () => {
    const keys = loadPayoutKeys({
      PAYOUT_MNEMONIC: TEST_MNEMONIC,
      GAS_TANK_KEY: GAS_KEY,
      DEPOSIT_XPUB: TEST_XPUB,
    });
    const depositKey = toHex(
      mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 0 }).getHdKey().privateKey as Uint8Array,
    ).slice(2);
    const secrets = [TEST_MNEMONIC, 'junk', depositKey, GAS_KEY.slice(2)];
    const signer = keys.depositSigner(0n);
    const views = [
      JSON.stringify(keys),
      JSON.stringify(signer),
      JSON.stringify(keys.gasTank),
      inspect(keys, { depth: 10, showHidden: true, getters: true }),
      inspect(signer, { depth: 10, showHidden: true, getters: true }),
      inspect(keys.gasTank, { depth: 10, showHidden: true, getters: true }),
      String(Object.getOwnPropertyNames(signer)),
    ];
    for (const view of views) for (const secret of secrets) expect(view.toLowerCase()).not.toContain(secret);
    expect(JSON.stringify(signer)).toBe(JSON.stringify({ address: signer.address }));

    // Defence in depth: fields named like secrets are redacted by the logger wherever they appear.
    const lines: string[] = [];
    const logger = createLogger(
      'test',
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    logger.info(
      {
        mnemonic: TEST_MNEMONIC,
        key: GAS_KEY,
        signer: { privateKey: GAS_KEY, seed: depositKey },
        config: { PAYOUT_MNEMONIC: TEST_MNEMONIC, GAS_TANK_KEY: GAS_KEY },
        from: signer,
      },
      'keys',
    );
    expect(lines).toHaveLength(1);
    for (const secret of secrets) expect(lines[0]?.toLowerCase()).not.toContain(secret);
    expect(lines[0]).toContain(signer.address);
  });
});

describe('payout configuration', () => {
  const base = {
    DATABASE_URL: 'postgres://u@h:5432/db',
    REDIS_URL: 'redis://h:6379',
    CHECKPOINT_SIGNING_KEY: 'k',
  };
  const payouts = {
    PAYOUT_MNEMONIC: TEST_MNEMONIC,
    GAS_TANK_KEY: GAS_KEY,
    FEE_ADDRESS: '0x90f79bf6eb2c4f870365e785982e1f101e93b906',
    DEPOSIT_XPUB: TEST_XPUB,
  };

  it('runs every role but the signer by default; the signer only where it is named', () => {
    const all = loadConfig('workers', workersConfigSchema, base);
    for (const role of WORKER_ROLES) expect(hasRole(all, role)).toBe(role !== 'payouts');
    const signing = loadConfig('workers', workersConfigSchema, {
      ...base,
      ...payouts,
      WORKERS_ROLES: 'all,payouts',
    });
    for (const role of WORKER_ROLES) expect(hasRole(signing, role)).toBe(true);
    // EIP-55 form of the fee address.
    expect(signing.FEE_ADDRESS).toBe('0x90F79bf6EB2c4f870365E785982E1f101E93b906');
    const some = loadConfig('workers', workersConfigSchema, {
      ...base,
      WORKERS_ROLES: ' payments, deadlines ',
    });
    expect([...some.WORKERS_ROLES]).toEqual(['payments', 'deadlines']);
    expect(hasRole(some, 'payouts')).toBe(false);
  });

  it('requires the keys, the fee address and the xpub with the payouts role, named in one message', () => {
    expect(
      problemsOf(() => loadConfig('workers', workersConfigSchema, { ...base, WORKERS_ROLES: 'payouts' })),
    ).toEqual([
      'PAYOUT_MNEMONIC: PAYOUT_MNEMONIC_FILE or PAYOUT_MNEMONIC is required when WORKERS_ROLES includes payouts',
      'GAS_TANK_KEY: GAS_TANK_KEY_FILE or GAS_TANK_KEY is required when WORKERS_ROLES includes payouts',
      'FEE_ADDRESS: is required when WORKERS_ROLES includes payouts',
      'DEPOSIT_XPUB: is required when WORKERS_ROLES includes payouts',
    ]);
    const both = problemsOf(() =>
      loadConfig('workers', workersConfigSchema, {
        ...base,
        ...payouts,
        WORKERS_ROLES: 'payouts',
        PAYOUT_MNEMONIC_FILE: '/run/secrets/m',
        GAS_TANK_KEY: '0x1234',
        FEE_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93B906',
      }),
    );
    expect(both).toEqual([
      'GAS_TANK_KEY: must be 0x followed by 64 hex digits',
      expect.stringMatching(/^FEE_ADDRESS: .*EIP-55 checksum/),
      'PAYOUT_MNEMONIC: set PAYOUT_MNEMONIC_FILE or PAYOUT_MNEMONIC, not both',
    ]);
    expect(both.join('\n')).not.toContain('junk');
  });

  it('refuses keys in a process without the payouts role, and unknown roles', () => {
    expect(
      problemsOf(() =>
        loadConfig('workers', workersConfigSchema, {
          ...base,
          ...payouts,
          WORKERS_ROLES: 'payments,notifications',
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^PAYOUT_MNEMONIC: only the payouts role holds the deposit mnemonic/),
      expect.stringMatching(/^GAS_TANK_KEY: only the payouts role holds the gas-tank key/),
    ]);
    expect(
      problemsOf(() =>
        loadConfig('workers', workersConfigSchema, { ...base, WORKERS_ROLES: 'payments,payout' }),
      ),
    ).toEqual([expect.stringMatching(/^WORKERS_ROLES: unknown role 'payout'; roles: all, payments/)]);
    // Keys given to the default (`all`) process are refused too: `all` does not include the signer.
    expect(problemsOf(() => loadConfig('workers', workersConfigSchema, { ...base, ...payouts }))).toEqual([
      expect.stringMatching(/^PAYOUT_MNEMONIC: only the payouts role/),
      expect.stringMatching(/^GAS_TANK_KEY: only the payouts role/),
    ]);
  });
});
