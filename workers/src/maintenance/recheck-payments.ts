import { JOBS, jobId, type PaymentJob, paymentEventId, paymentJobSchema } from '@amanat/core';
import { type Logger, type Pool, paymentsToRecheck } from '@amanat/platform';
import type { Queue } from 'bullmq';

export interface RecheckPaymentsOptions {
  pool: Pool;
  /** The `payments` queue. */
  payments: Queue;
  logger: Logger;
  /** The maintenance interval: each payment is rechecked at most once per interval. */
  intervalSec: number;
  /** How long a payment may stay pending before it is rechecked (its confirmation report is late). */
  pendingForSec?: number;
  /** How long after a reorg a payment is still rechecked (the chain may switch back). */
  reorgedWithinSec?: number;
  limit?: number;
}

/**
 * The safety net under the scanner's reports: payments whose status in PostgreSQL may be out of date are
 * verified again by the payments worker, which reads the chain itself. A report that never came or ran
 * out of retries then cannot leave money uncounted or counted.
 */
export async function recheckPayments(opts: RecheckPaymentsOptions): Promise<{ enqueued: number }> {
  const due = await paymentsToRecheck(opts.pool, {
    pendingFor: opts.pendingForSec ?? 5 * 60,
    reorgedWithin: opts.reorgedWithinSec ?? 24 * 3600,
    limit: opts.limit ?? 500,
  });
  // One recheck per payment per interval, whichever workers process runs the sweep.
  const round = Math.floor(Date.now() / (opts.intervalSec * 1000));
  const jobs = due.map((p) => {
    const type = p.status === 'pending' ? 'payment.confirmed' : 'payment.reorged';
    const fact = { chainId: p.chainId, txHash: p.txHash, logIndex: p.logIndex, blockHash: p.blockHash };
    const data: PaymentJob = paymentJobSchema.parse({
      eventId: paymentEventId(type, fact),
      type,
      ...fact,
      blockNumber: p.blockNumber.toString(),
      to: p.to,
      token: p.token,
    });
    return {
      name: JOBS.payments[0],
      data,
      opts: {
        jobId: jobId(data.eventId, 'recheck', round),
        // A recheck that cannot read the chain now is simply repeated next round.
        attempts: 1,
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    };
  });
  if (jobs.length > 0) {
    await opts.payments.addBulk(jobs);
    opts.logger.info({ payments: jobs.length }, 'payments queued for a recheck against the chain');
  }
  return { enqueued: jobs.length };
}
