import {
  type AssetRegistry,
  type Chain,
  JOBS,
  type PaymentJob,
  type PaymentRecord,
  paymentJobSchema,
} from '@amanat/core';
import {
  type DealStore,
  findDealIdByDepositAddress,
  findRecordedPayment,
  isGasTopupTransaction,
  type Logger,
  recordPayments,
  recordUnattributedPayment,
} from '@amanat/platform';
import { UnrecoverableError } from 'bullmq';
import type { JobHandler } from '../handlers.ts';
import { ChainReadRetry, PaymentChainReader } from './chain-reader.ts';

export interface PaymentVerifierDeps {
  store: DealStore;
  registry: AssetRegistry;
  /** Lower-cased senders whose money is recorded but never counted. */
  denylist: ReadonlySet<string>;
  logger: Logger;
  /** Per-endpoint RPC timeout. */
  rpcTimeoutMs?: number;
}

export type VerifyOutcome =
  | {
      outcome: 'recorded';
      dealId: string;
      status: PaymentRecord['status'];
      changed: string[];
      funding: string;
    }
  | { outcome: 'unattributed'; status: PaymentRecord['status'] }
  | { outcome: 'reorged'; dealId: string | null; changed: string[] }
  | { outcome: 'not_on_chain'; reason: string }
  | { outcome: 'ignored'; reason: string };

const ACTOR = { kind: 'system', component: 'payments' } as const;

/**
 * Verifies one reported payment fact against the chain and records what the chain says. The job only
 * names a transaction and a log: token, recipient, amount, block and confirmations all come from this
 * worker's own reads, and the deal is found from the recipient address, never from the report.
 */
export class PaymentVerifier {
  private readonly deps: PaymentVerifierDeps;
  private readonly readers = new Map<number, PaymentChainReader>();

  constructor(deps: PaymentVerifierDeps) {
    this.deps = deps;
  }

  async verify(job: PaymentJob): Promise<VerifyOutcome> {
    const chain = this.deps.registry.chain(job.chainId);
    if (!chain || chain.rpcUrls.length === 0) {
      throw new UnrecoverableError(`chain ${job.chainId} is not configured with RPC URLs in this worker`);
    }
    const reader = this.readerFor(chain);
    const seen = await reader.observe({
      txHash: job.txHash as `0x${string}`,
      logIndex: job.logIndex,
      blockNumber: BigInt(job.blockNumber),
    });

    if (seen.kind === 'behind') {
      throw new ChainReadRetry(`the RPC endpoint is at block ${seen.head}, before block ${job.blockNumber}`);
    }
    if (seen.kind === 'absent') return this.unrecord(job, seen.reason);

    const t = seen.transfer;
    // Zero-value transfers are address-poisoning spam; they are not even worth a row.
    if (t.amount === 0n) return { outcome: 'ignored', reason: 'zero value' };
    // The payout signer's own gas top-up to a deposit address: its ledger is gas_topups, not payments.
    if (t.token === 'native' && (await isGasTopupTransaction(this.deps.store.pool, t.chainId, t.txHash)))
      return { outcome: 'ignored', reason: 'gas top-up by the payout signer' };
    const record: PaymentRecord = {
      chainId: t.chainId,
      txHash: t.txHash,
      logIndex: t.logIndex,
      token: t.token,
      from: t.from,
      to: t.to,
      amount: t.amount,
      blockNumber: t.blockNumber,
      blockHash: t.blockHash,
      blockTimestamp: t.blockTimestamp,
      status: t.confirmed ? 'confirmed' : 'pending',
    };

    const dealId = await findDealIdByDepositAddress(this.deps.store.pool, t.to);
    let outcome: VerifyOutcome;
    if (dealId === null) {
      await recordUnattributedPayment(this.deps.store.pool, record);
      this.deps.logger.warn(
        { chainId: t.chainId, txHash: t.txHash, logIndex: t.logIndex, to: t.to },
        'payment to an address no deal owns; recorded for review',
      );
      outcome = { outcome: 'unattributed', status: record.status };
    } else {
      const result = await this.record(dealId, record);
      outcome = {
        outcome: 'recorded',
        dealId,
        status: record.status,
        changed: result.changed,
        funding: result.evaluation.status,
      };
    }
    // The scanner saw the confirmation count; this worker's endpoint may be a block or two behind. The
    // report must not be lost, so the job comes back until this worker sees it confirmed too.
    if (job.type === 'payment.confirmed' && !t.confirmed) {
      throw new ChainReadRetry(
        `${job.txHash}/${job.logIndex} is not yet confirmed on this worker's endpoint`,
      );
    }
    return outcome;
  }

  /** The chain no longer shows the payment: if it was recorded, it is marked reorged and funding recomputed. */
  private async unrecord(job: PaymentJob, reason: string): Promise<VerifyOutcome> {
    const recorded = await findRecordedPayment(this.deps.store.pool, {
      chainId: job.chainId,
      txHash: job.txHash as `0x${string}`,
      logIndex: job.logIndex,
    });
    if (!recorded || recorded.payment.status === 'reorged') return { outcome: 'not_on_chain', reason };
    const reorged: PaymentRecord = { ...recorded.payment, status: 'reorged' };
    if (recorded.dealId === null) {
      await recordUnattributedPayment(this.deps.store.pool, reorged);
      return { outcome: 'reorged', dealId: null, changed: [] };
    }
    const result = await this.record(recorded.dealId, reorged);
    this.deps.logger.warn(
      { dealId: recorded.dealId, txHash: job.txHash, logIndex: job.logIndex, reason },
      'recorded payment is no longer on the chain; funding recomputed',
    );
    return { outcome: 'reorged', dealId: recorded.dealId, changed: result.changed };
  }

  private record(dealId: string, payment: PaymentRecord) {
    return recordPayments(this.deps.store, {
      dealId,
      payments: [payment],
      denylist: this.deps.denylist,
      isKnownAsset: (ref) => this.deps.registry.findToken(ref) !== undefined,
      actor: ACTOR,
    });
  }

  private readerFor(chain: Chain): PaymentChainReader {
    let reader = this.readers.get(chain.chainId);
    if (!reader) {
      reader = new PaymentChainReader(chain, { timeoutMs: this.deps.rpcTimeoutMs ?? 10_000 });
      this.readers.set(chain.chainId, reader);
    }
    return reader;
  }
}

/** The payments queue's handlers: a malformed job fails at once and stays visible; chain trouble retries. */
export function createPaymentHandlers(deps: PaymentVerifierDeps): Record<string, JobHandler> {
  const verifier = new PaymentVerifier(deps);
  return {
    [JOBS.payments[0]]: async (job) => {
      const parsed = paymentJobSchema.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `invalid payment job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      return verifier.verify(parsed.data);
    },
  };
}
