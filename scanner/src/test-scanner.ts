// A real scanner in the test's own process, over one anvil chain: the job scheduler, the ticks and the
// state in Redis as in production, without callback delivery. For tests of what reads the scanner's view
// (the payout signer), which can stop it and start it again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, registryFromConfig, type ScannerConfig, scannerConfigSchema } from '@amanat/core';
import { createLogger, createRedis } from '@amanat/platform';
import { createPublicClient, http } from 'viem';
import { testEnv, until } from '../../devstack/testing.ts';
import { ScanStateStore } from './scan/store.ts';
import { type ScannerHandle, startScanner } from './scanner.ts';

export interface TestScannerOptions {
  rpcUrl: string;
  /** anvil's chain id by default. */
  chainId?: number;
  confirmations: number;
  redisUrl: string;
  /** The REDIS_PREFIX the code under test uses. */
  prefix: string;
  /** SCAN_INTERVAL_MS; 100 (the least the configuration allows) by default. */
  intervalMs?: number;
}

export interface TestScanner {
  /** Resolves once the cursor is at `block` or past it (the chain's head now by default); returns it. */
  caughtUp(block?: bigint): Promise<bigint>;
  /** Its cursor now; null before its first tick. */
  cursor(): Promise<bigint | null>;
  /** Stops ticking (a tick under way finishes first); the state stays in Redis. */
  stop(): Promise<void>;
  /** Starts again where it stopped, once its next tick has run. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the scanner and returns after its first tick: every block after the head then is scanned. */
export async function startTestScanner(opts: TestScannerOptions): Promise<TestScanner> {
  const chainId = opts.chainId ?? 31337;
  const dir = await mkdtemp(join(tmpdir(), 'test-scanner-'));
  const config: ScannerConfig = loadConfig('scanner', scannerConfigSchema, {
    DATABASE_URL: testEnv().databaseUrl,
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: opts.prefix,
    LOG_LEVEL: 'silent',
    PAYMENT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 9).toString('base64')}`,
    PAYMENT_CALLBACK_URL: 'http://127.0.0.1:9/unused',
    SCAN_INTERVAL_MS: String(opts.intervalMs ?? 100),
    SCAN_CHECKPOINT_DIR: dir,
    RPC_URLS: JSON.stringify({ [chainId]: [opts.rpcUrl] }),
    ASSET_REGISTRY: JSON.stringify({ chains: { [chainId]: { confirmations: opts.confirmations } } }),
  });
  const registry = registryFromConfig('scanner', config);
  const logger = createLogger('test-scanner', 'silent');
  const redis = createRedis(opts.redisUrl, 'worker', 'test-scanner-reader');
  const store = new ScanStateStore(redis, opts.prefix, chainId);
  const chain = createPublicClient({ transport: http(opts.rpcUrl) });
  let handle: ScannerHandle | null = null;

  const caughtUp = async (block?: bigint): Promise<bigint> => {
    const target = block ?? (await chain.getBlockNumber({ cacheTime: 0 }));
    return until(`the scanner at block ${target}`, async () => {
      const { cursor } = await store.progress();
      return cursor !== null && cursor >= target ? cursor : null;
    });
  };
  const start = async (): Promise<void> => {
    const before = (await store.progress()).at ?? 0;
    handle = await startScanner({ config, registry, logger, deliver: false, name: 'test-scanner' });
    await until('a scan tick', async () => ((await store.progress()).at ?? 0) > before);
  };
  const stop = async (): Promise<void> => {
    await handle?.stop();
    handle = null;
  };

  await start();
  return {
    caughtUp,
    cursor: async () => (await store.progress()).cursor,
    stop,
    start,
    close: async () => {
      await stop();
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
