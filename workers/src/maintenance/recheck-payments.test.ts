import { createRegistry, type PaymentJob, QUEUES } from '@amanat/core';
import { createLogger, DealStore, recordPayments } from '@amanat/platform';
import { Queue } from 'bullmq';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, DEMO_TOKENS, deployDemoTokens, startAnvil } from '../../../devstack/chain.ts';
import { type ChainClients, chainClients, mine, sendToken } from '../../../devstack/test-chain.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../../../devstack/testing.ts';
import { awaitingPaymentDeal } from '../../../platform/src/deals/test-fixtures.ts';
import { PaymentVerifier } from '../payments/verify-payment.ts';
import { recheckPayments } from './recheck-payments.ts';

const USDT = DEMO_TOKENS.usdt.address as Address;
const DUE = 100_000_000n;
const logger = createLogger('test', 'silent');

let anvil: AnvilHandle;
let c: ChainClients;
let db: TestDatabase;
let redis: TestRedis;
let store: DealStore;
let payments: Queue;
let verifier: PaymentVerifier;

beforeAll(async () => {
  [anvil, db, redis] = await Promise.all([startAnvil(), createTestDatabase(), createTestRedis()]);
  c = chainClients(anvil.rpcUrl);
  await deployDemoTokens(anvil.rpcUrl);
  store = new DealStore({ pool: db.pool });
  payments = new Queue(QUEUES.payments, { connection: redis.redis, prefix: `${redis.prefix}:bull` });
  verifier = new PaymentVerifier({
    store,
    registry: createRegistry({
      rpcUrls: { 31337: [anvil.rpcUrl] },
      overrides: { chains: { 31337: { confirmations: 2 } } },
    }),
    denylist: new Set(),
    logger,
  });
});
afterAll(async () => {
  await payments?.close();
  await Promise.all([anvil?.stop(), db?.close(), redis?.close()]);
});

/** Runs the queued recheck jobs through the verifier, as the payments worker would. */
async function runQueued(): Promise<number> {
  const jobs = await payments.getJobs(['waiting']);
  for (const job of jobs) {
    await verifier.verify(job.data as PaymentJob);
    await job.remove();
  }
  return jobs.length;
}

const recheck = () =>
  recheckPayments({ pool: db.pool, payments, logger, intervalSec: 60, pendingForSec: 60 });

describe('payment recheck sweep', () => {
  it('funds a deal whose "confirmed" report never came, once per round however often it runs', async () => {
    const { deal } = await awaitingPaymentDeal(
      store,
      db.pool,
      () => privateKeyToAccount(generatePrivateKey()).address,
    );
    const deposit = deal.deposit?.address as Address;
    const receipt = await sendToken(c, USDT, deposit, DUE);
    const log = receipt.logs[0]?.logIndex as number;
    const job = (type: PaymentJob['type']): PaymentJob => ({
      eventId: 'e1',
      type,
      chainId: 31337,
      txHash: receipt.transactionHash,
      logIndex: log,
      blockHash: receipt.blockHash,
      blockNumber: receipt.blockNumber.toString(),
      to: deposit,
      token: USDT,
    });
    await verifier.verify(job('payment.detected'));
    await mine(c, 2);
    // Recently seen: the scanner's own report is still expected.
    expect(await recheck()).toEqual({ enqueued: 0 });

    await db.pool.query(`UPDATE payments SET updated_at = now() - interval '10 minutes'`);
    expect(await recheck()).toEqual({ enqueued: 1 });
    expect(await recheck()).toEqual({ enqueued: 1 });
    expect(await runQueued()).toBe(1);
    expect(await store.get(deal.id)).toMatchObject({ state: 'funded', confirmedAmount: DUE });

    // A reorg report the chain did not bear out (it switched back): the recheck restores the payment.
    const [row] = (await db.pool.query('SELECT * FROM payments WHERE deal_id = $1', [deal.id])).rows;
    await recordPayments(store, {
      dealId: deal.id,
      payments: [
        {
          chainId: 31337,
          txHash: row.tx_hash,
          logIndex: row.log_index,
          token: row.token,
          from: row.from_address,
          to: row.to_address,
          amount: BigInt(row.amount),
          blockNumber: BigInt(row.block_number),
          blockHash: row.block_hash,
          blockTimestamp: row.block_timestamp,
          status: 'reorged',
        },
      ],
      denylist: new Set(),
      isKnownAsset: () => true,
      actor: { kind: 'system', component: 'test' },
    });
    expect((await store.get(deal.id))?.state).toBe('awaiting_payment');
    await payments.obliterate({ force: true });
    expect(await recheck()).toEqual({ enqueued: 1 });
    await runQueued();
    expect(await store.get(deal.id)).toMatchObject({ state: 'funded', confirmedAmount: DUE });
  });
});
