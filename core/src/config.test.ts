import { describe, expect, it } from 'vitest';
import {
  apiConfigSchema,
  ConfigError,
  loadConfig,
  needsPayoutApproval,
  registryFromConfig,
  scannerConfigSchema,
  workersConfigSchema,
} from './config.ts';

const base = { DATABASE_URL: 'postgres://u@h:5432/db', REDIS_URL: 'redis://h:6379' };
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('names every missing or invalid variable in one message', () => {
    const problems = problemsOf(() =>
      loadConfig('workers', workersConfigSchema, {
        REDIS_URL: 'http://nope',
        OUTBOX_POLL_MS: 'soon',
        STORAGE_MODE: 'dual',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'DATABASE_URL: is required but not set',
        'CHECKPOINT_SIGNING_KEY: is required but not set',
        expect.stringMatching(/^REDIS_URL: must start with redis: or rediss:/),
        expect.stringMatching(/^OUTBOX_POLL_MS: /),
        // Cross-variable rules are reported together with the rest, not only after it is fixed.
        'MONGO_URL: is required when STORAGE_MODE=dual',
      ]),
    );
    expect(problems).toHaveLength(5);
    let message = '';
    try {
      loadConfig('workers', workersConfigSchema, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^workers: invalid configuration \(3 problems\):/);
    expect(message).toContain('.env.example');
  });

  it('treats empty strings as unset and applies defaults', () => {
    const cfg = loadConfig('workers', workersConfigSchema, {
      ...base,
      CHECKPOINT_SIGNING_KEY: 'k',
      LOG_LEVEL: '',
      MONGO_URL: '',
    });
    expect(cfg).toMatchObject({
      LOG_LEVEL: 'info',
      STORAGE_MODE: 'pg_only',
      OUTBOX_POLL_MS: 1000,
      WORKERS_HEALTH_PORT: 8070,
    });
    expect(cfg.MONGO_URL).toBeUndefined();
  });

  it('requires MONGO_URL only in dual mode', () => {
    const env = { ...base, CHECKPOINT_SIGNING_KEY: 'k', STORAGE_MODE: 'dual' };
    expect(problemsOf(() => loadConfig('workers', workersConfigSchema, env))).toEqual([
      'MONGO_URL: is required when STORAGE_MODE=dual',
    ]);
    expect(
      loadConfig('workers', workersConfigSchema, { ...env, MONGO_URL: 'mongodb://h:27017' }).STORAGE_MODE,
    ).toBe('dual');
  });

  it('parses JSON variables and reports what inside them is wrong', () => {
    const env = {
      ...base,
      PAYMENT_WEBHOOK_SECRET: `whsec_${'A'.repeat(32)}`,
      PAYMENT_CALLBACK_URL: 'http://api/cb',
    };
    const cfg = loadConfig('scanner', scannerConfigSchema, {
      ...env,
      RPC_URLS: '{"1":["https://a.example"]}',
    });
    expect(cfg.RPC_URLS).toEqual({ 1: ['https://a.example'] });
    expect(
      problemsOf(() => loadConfig('scanner', scannerConfigSchema, { ...env, RPC_URLS: '{"1":[]}' })),
    ).toEqual([expect.stringMatching(/^RPC_URLS: 1: /)]);
    expect(
      problemsOf(() => loadConfig('scanner', scannerConfigSchema, { ...env, RPC_URLS: 'not json' })),
    ).toEqual(['RPC_URLS: must be valid JSON']);
    expect(
      problemsOf(() =>
        loadConfig('scanner', scannerConfigSchema, { ...env, PAYMENT_WEBHOOK_SECRET: 'plain' }),
      ),
    ).toEqual(['PAYMENT_WEBHOOK_SECRET: must be whsec_ followed by base64']);
  });
});

describe('registryFromConfig', () => {
  it('activates chains that have RPC URLs and reports a bad override as configuration', () => {
    const registry = registryFromConfig('api', { RPC_URLS: { '31337': ['http://127.0.0.1:8545'] } });
    expect(registry.activeChains().map((c) => c.chainId)).toEqual([31337]);
    expect(() => registryFromConfig('api', { ASSET_REGISTRY: { tokens: [{ chainId: 1 }] } })).toThrow(
      ConfigError,
    );
  });
});

describe('api configuration', () => {
  const api = {
    ...base,
    APP_ORIGIN: 'https://app.example.com/some/path',
    TELEGRAM_BOT_TOKEN: '7000001:AAH-test-token-for-amanat-api-tests_0123456789',
    TELEGRAM_BOT_USERNAME: 'amanat_bot',
    DEPOSIT_XPUB: `xpub${'A'.repeat(107)}`,
    ASSIST_SERVICE_SECRET: 's'.repeat(32),
    PAYMENT_WEBHOOK_SECRET: `whsec_${'A'.repeat(32)}`,
  };

  it('reads TRUST_PROXY as Express means it: hop counts as numbers, true/false as booleans', () => {
    const trust = (v: string) => loadConfig('api', apiConfigSchema, { ...api, TRUST_PROXY: v }).TRUST_PROXY;
    expect(trust('1')).toBe(1);
    expect(trust('true')).toBe(true);
    expect(trust('false')).toBe(false);
    expect(trust('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
    expect(loadConfig('api', apiConfigSchema, api).TRUST_PROXY).toBe('loopback');
  });

  it('keeps only the origin of APP_ORIGIN, parses staff ids, and pairs the break-glass variables', () => {
    const cfg = loadConfig('api', apiConfigSchema, { ...api, OPERATOR_TELEGRAM_IDS: ' 1, 22 ,333' });
    expect(cfg.APP_ORIGIN).toBe('https://app.example.com');
    expect([...cfg.OPERATOR_TELEGRAM_IDS]).toEqual([1n, 22n, 333n]);
    expect(cfg.ARBITRATOR_TELEGRAM_IDS.size).toBe(0);
    expect(
      problemsOf(() => loadConfig('api', apiConfigSchema, { ...api, OPERATOR_TELEGRAM_IDS: '1;2' })),
    ).toEqual([expect.stringMatching(/^OPERATOR_TELEGRAM_IDS: /)]);
    expect(problemsOf(() => loadConfig('api', apiConfigSchema, { ...api, ADMIN_USER: 'root' }))).toEqual([
      expect.stringMatching(/^ADMIN_PASSWORD_HASH: ADMIN_USER and ADMIN_PASSWORD_HASH are set together/),
    ]);
  });
});

describe('PAYOUT_APPROVAL_THRESHOLD', () => {
  const workers = { ...base, CHECKPOINT_SIGNING_KEY: 'k' };
  const load = (value: string) =>
    loadConfig('workers', workersConfigSchema, { ...workers, PAYOUT_APPROVAL_THRESHOLD: value })
      .PAYOUT_APPROVAL_THRESHOLD;
  const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';

  it('reads base units per asset, with token addresses in any case, and gates only amounts above them', () => {
    const thresholds = load(`{"1:${USDT}": "1000000000", "31337:native": "0"}`);
    expect(thresholds).toEqual(
      new Map([
        [`1:${USDT.toLowerCase()}`, 1_000_000_000n],
        ['31337:native', 0n],
      ]),
    );
    const usdt = { chainId: 1, token: USDT };
    expect(needsPayoutApproval(thresholds, usdt, 1_000_000_000n)).toBe(false);
    expect(needsPayoutApproval(thresholds, usdt, 1_000_000_001n)).toBe(true);
    expect(needsPayoutApproval(thresholds, { chainId: 31337, token: 'native' }, 1n)).toBe(true);
    // An asset not listed, or no configuration at all: nothing waits.
    expect(needsPayoutApproval(thresholds, { chainId: 56, token: 'native' }, 10n ** 30n)).toBe(false);
    expect(needsPayoutApproval(undefined, usdt, 10n ** 30n)).toBe(false);
    expect(loadConfig('workers', workersConfigSchema, workers).PAYOUT_APPROVAL_THRESHOLD).toBeUndefined();
  });

  it('names what is wrong: the JSON, a key, an amount, an asset listed twice', () => {
    const problems = (value: string) =>
      problemsOf(() =>
        loadConfig('workers', workersConfigSchema, { ...workers, PAYOUT_APPROVAL_THRESHOLD: value }),
      );
    expect(problems('1000')).toEqual([expect.stringMatching(/^PAYOUT_APPROVAL_THRESHOLD: \(root\): /)]);
    expect(problems('{')).toEqual(['PAYOUT_APPROVAL_THRESHOLD: must be valid JSON']);
    expect(problems('{"eth:native": "1"}')).toEqual([
      expect.stringMatching(/^PAYOUT_APPROVAL_THRESHOLD: eth:native: keys are "<chainId>:<token address>"/),
    ]);
    expect(problems('{"1:native": 5}')).toEqual([
      'PAYOUT_APPROVAL_THRESHOLD: 1:native: must be base units as a decimal string, e.g. "1000000000"',
    ]);
    expect(problems('{"1:native": "1.5"}')).toEqual([
      'PAYOUT_APPROVAL_THRESHOLD: 1:native: must be base units as a decimal string, e.g. "1000000000"',
    ]);
    expect(problems(`{"1:${USDT}": "1", "1:${USDT.toLowerCase()}": "2"}`)).toEqual([
      `PAYOUT_APPROVAL_THRESHOLD: 1:${USDT.toLowerCase()}: the same asset is listed twice`,
    ]);
  });
});
