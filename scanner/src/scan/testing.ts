// Test support for the scan loop: a real anvil with the demo tokens, a Redis prefix of its own, the real
// chain reader and callbacks queue, and the events read back from the queue's jobs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Chain,
  type PaymentWebhookEvent,
  paymentWebhookEventSchema,
  QUEUES,
  redisKeys,
} from '@amanat/core';
import { createLogger } from '@amanat/platform';
import { Queue } from 'bullmq';
import type { Address, Hex, TransactionReceipt } from 'viem';
import { type AnvilHandle, deployDemoTokens, startAnvil } from '../../../devstack/chain.ts';
import { type ChainClients, chainClients } from '../../../devstack/test-chain.ts';
import { createTestRedis, type TestRedis } from '../../../devstack/testing.ts';
import { type ChainRpcHandle, createChainRpc } from '../rpc/index.ts';
import type { ScanDeps } from './tick.ts';

export const silentLogger = createLogger('scanner-test', 'silent');

export interface CapturedEvent extends PaymentWebhookEvent {
  /** The callbacks job id (the event id). */
  jobId: string;
  eventId: string;
}

export interface ScanHarness {
  anvil: AnvilHandle;
  chain: ChainClients;
  redis: TestRedis;
  rpc: ChainRpcHandle;
  callbacks: Queue;
  checkpointDir: string;
  /** The chain as the scanner sees it: anvil's id, and the test's confirmation count. */
  chainConfig: Pick<Chain, 'chainId' | 'confirmations' | 'finality'>;
  deps(over?: Partial<ScanDeps>): ScanDeps;
  /** Every event in the callbacks queue, whatever its job's state. */
  events(): Promise<CapturedEvent[]>;
  watchHot(address: Address): Promise<void>;
  watchCold(address: Address): Promise<void>;
  /**
   * Forgets the scanner's state, checkpoint, watch sets, queued events, listed payout senders and what it
   * saw them do (each test starts at the head).
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export const CONFIRMATIONS = 10;

export async function startScanHarness(): Promise<ScanHarness> {
  const anvil = await startAnvil();
  await deployDemoTokens(anvil.rpcUrl);
  const redis = await createTestRedis();
  const rpc = createChainRpc({ chainId: anvil.chainId, urls: [anvil.rpcUrl] });
  const keys = redisKeys(redis.prefix);
  const callbacks = new Queue(QUEUES.callbacks, { connection: redis.redis, prefix: keys.bullPrefix });
  let checkpointDir = await mkdtemp(join(tmpdir(), 'scan-checkpoint-'));
  const chainConfig = {
    chainId: anvil.chainId,
    confirmations: CONFIRMATIONS,
    finality: 'confirmations' as const,
  };

  return {
    anvil,
    chain: chainClients(anvil.rpcUrl, anvil.chainId),
    redis,
    rpc,
    callbacks,
    get checkpointDir() {
      return checkpointDir;
    },
    chainConfig,
    deps: (over = {}) => ({
      chain: chainConfig,
      rpc,
      redis: redis.redis,
      prefix: redis.prefix,
      callbacks,
      checkpointDir,
      coldEveryTicks: 1_000,
      logger: silentLogger,
      ...over,
    }),
    events: async () => {
      const jobs = await callbacks.getJobs([
        'waiting',
        'active',
        'completed',
        'failed',
        'delayed',
        'prioritized',
      ]);
      return jobs.map((job) => {
        const body = paymentWebhookEventSchema.parse(JSON.parse(job.data.body));
        return { ...body, jobId: String(job.id), eventId: job.data.eventId };
      });
    },
    watchHot: async (address) =>
      void (await redis.redis.sadd(keys.watchSet(anvil.chainId), address.toLowerCase())),
    watchCold: async (address) =>
      void (await redis.redis.sadd(keys.coldWatchSet(anvil.chainId), address.toLowerCase())),
    reset: async () => {
      await redis.redis.del(
        keys.scanState(anvil.chainId),
        keys.watchSet(anvil.chainId),
        keys.coldWatchSet(anvil.chainId),
        keys.undeliveredEvents(anvil.chainId),
        keys.payoutsInFlight(anvil.chainId),
        keys.outgoingSeen(anvil.chainId),
        keys.outgoingSeenBlocks(anvil.chainId),
      );
      await callbacks.obliterate({ force: true });
      await rm(checkpointDir, { recursive: true, force: true });
      checkpointDir = await mkdtemp(join(tmpdir(), 'scan-checkpoint-'));
    },
    close: async () => {
      await callbacks.close();
      rpc.close();
      await redis.close();
      await anvil.stop();
      await rm(checkpointDir, { recursive: true, force: true });
    },
  };
}

/** The facts of a transfer as its receipt tells them, for comparing with events. */
export interface Sent {
  txHash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
}

export const sentToken = (receipt: TransactionReceipt): Sent => {
  const log = receipt.logs[0];
  if (!log) throw new Error(`transaction ${receipt.transactionHash} emitted no log`);
  return {
    txHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    blockHash: receipt.blockHash,
    logIndex: log.logIndex,
  };
};

export const sentNative = (receipt: TransactionReceipt): Sent => ({
  txHash: receipt.transactionHash,
  blockNumber: receipt.blockNumber,
  blockHash: receipt.blockHash,
  logIndex: -1,
});

/** Events about one transfer, as `type@blockHash` strings in queue order. */
export const eventsFor = (events: readonly CapturedEvent[], sent: Pick<Sent, 'txHash' | 'logIndex'>) =>
  events
    .filter((e) => e.data.txHash === sent.txHash.toLowerCase() && e.data.logIndex === sent.logIndex)
    .map((e) => `${e.type}@${e.data.blockHash}`)
    .sort();
