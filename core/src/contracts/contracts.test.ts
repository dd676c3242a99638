import { describe, expect, it } from 'vitest';
import { codeOf } from '../testing.ts';
import { dealEventSchema, paymentEventId, paymentWebhookEventSchema } from './events.ts';
import { jobId } from './job-id.ts';
import {
  deadlineJobId,
  JOB_SCHEMAS,
  JOBS,
  mirrorJobId,
  notificationJobId,
  paymentJobId,
  paymentJobSchema,
  QUEUES,
  scanQueueName,
} from './queues.ts';
import { redisKeys } from './redis-keys.ts';

const TX = `0x${'Ab'.repeat(32)}`;
const DEAL = '0b8f2a52-3d1e-4c53-9a47-0d6f0c7c2f11';
const USER = '5f0c1f7e-8a8d-4a43-8f3a-2b6a9f3e9d10';

describe('queue contracts', () => {
  it('every fixed queue has job names and a payload schema', () => {
    for (const queue of Object.values(QUEUES)) {
      expect(JOBS[queue].length).toBeGreaterThan(0);
      expect(JOB_SCHEMAS[queue]).toBeDefined();
    }
    expect(scanQueueName(137)).toBe('scan-137');
  });

  it('job ids follow the design and never contain ":" or only digits (BullMQ 6)', () => {
    const BLOCK = `0x${'cD'.repeat(32)}`;
    expect(
      paymentJobId({ chainId: 1, txHash: TX, logIndex: 3, type: 'payment.confirmed', blockHash: BLOCK }),
    ).toBe(`1-${TX.toLowerCase()}-3-confirmed-${'cd'.repeat(8)}`);
    expect(
      paymentJobId({ chainId: 1, txHash: TX, logIndex: -1, type: 'payment.detected', blockHash: BLOCK }),
    ).toBe(`1-${TX.toLowerCase()}--1-detected-${'cd'.repeat(8)}`);
    // A reorg that moves the transaction into another block makes a new event, not a replay.
    expect(
      paymentEventId('payment.detected', { chainId: 1, txHash: TX, logIndex: 0, blockHash: TX }),
    ).not.toBe(paymentEventId('payment.detected', { chainId: 1, txHash: TX, logIndex: 0, blockHash: BLOCK }));
    expect(
      deadlineJobId({ dealId: DEAL, kind: 'inspection-end', version: 4, dueAt: '2026-01-01T00:00:00.000Z' }),
    ).toBe(`${DEAL}-inspection-end-4`);
    expect(notificationJobId({ eventId: USER, recipientUserId: DEAL, channel: 'telegram' })).toBe(
      `${USER}-${DEAL}-telegram`,
    );
    expect(mirrorJobId({ entity: 'deal', id: DEAL, version: 2 })).toBe(`deal-${DEAL}-2`);
    expect(codeOf(() => jobId('a:b'))).toBe('job_id_invalid');
    expect(jobId(12, 34)).toBe('12-34');
    expect(codeOf(() => jobId('1234'))).toBe('job_id_invalid');
  });

  it('payloads carry ids and facts only and reject anything else', () => {
    const job = {
      eventId: 'evt_1',
      type: 'payment.confirmed',
      chainId: 1,
      txHash: TX,
      logIndex: 0,
      blockHash: TX,
      blockNumber: '19000000',
      to: `0x${'1'.repeat(40)}`,
      token: 'native',
    };
    expect(paymentJobSchema.parse(job)).toEqual(job);
    expect(paymentJobSchema.safeParse({ ...job, blockNumber: 19000000 }).success).toBe(false);
    expect(paymentJobSchema.safeParse({ ...job, logIndex: -2 }).success).toBe(false);
    expect(JOB_SCHEMAS.mirror.safeParse({ entity: 'deal', id: 'not-a-uuid', version: 1 }).success).toBe(
      false,
    );
  });

  it('webhook and deal events are validated at the boundary', () => {
    const event = {
      type: 'payment.detected',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: {
        chainId: 56,
        txHash: TX,
        logIndex: 2,
        blockNumber: '1',
        blockHash: TX,
        from: `0x${'2'.repeat(40)}`,
        to: `0x${'3'.repeat(40)}`,
        token: `0x${'4'.repeat(40)}`,
        amount: '1000000000000000000',
        confirmations: 0,
      },
    };
    expect(paymentWebhookEventSchema.parse(event)).toEqual(event);
    expect(
      paymentWebhookEventSchema.safeParse({ ...event, data: { ...event.data, amount: '1e18' } }).success,
    ).toBe(false);
    expect(
      dealEventSchema.safeParse({
        id: USER,
        dealId: DEAL,
        version: 1,
        action: 'create',
        state: 'drafted',
        needsReview: false,
        audience: [],
        at: '2026-01-01T00:00:00.000Z',
        facts: {},
      }).success,
    ).toBe(false);
  });

  it('Redis keys live under the deployment prefix', () => {
    expect(redisKeys('amanat').watchSet(1)).toBe('amanat:watch:1');
    expect(redisKeys('t-1').bullPrefix).toBe('t-1:bull');
  });
});
