import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftDeal, type Harness, startHarness } from './test-harness.ts';

const INTERVAL_MS = 1000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ NOTIFY_CHAT_INTERVAL_MS: INTERVAL_MS });
});
afterAll(async () => {
  await h.close();
});

/** The slot a job waited for as a delayed job, if it had to wait (see deliver.ts). */
const heldSlot = (data: unknown) => (data as { chatSlot?: { at: number; attempt: number } }).chatSlot;

describe('per-chat pace', () => {
  it('a second message to the same chat waits for its slot as a delayed job, spending no attempt', async () => {
    const d = await draftDeal(h);
    await h.store.act(d.deal.id, { type: 'join', role: 'buyer' }, d.asBuyer, {
      partyAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    });
    // Both events reach the queue at once: the seller has two messages due (create, join), the buyer one.
    await h.drain();
    const sellerJobs = await Promise.all((await h.jobIds(d.deal.id, d.seller.id)).map((id) => h.settled(id)));
    const [buyerJob] = await Promise.all((await h.jobIds(d.deal.id, d.buyer.id)).map((id) => h.settled(id)));

    expect(sellerJobs).toHaveLength(2);
    for (const job of [...sellerJobs, buyerJob]) {
      expect(await job?.getState()).toBe('completed');
      expect(job?.returnvalue.outcome).toBe('sent');
      expect(job?.attemptsMade).toBe(1);
    }
    // Exactly one of the seller's two was delayed to a later slot; the buyer's chat had nothing queued.
    expect(sellerJobs.filter((j) => heldSlot(j.data) !== undefined)).toHaveLength(1);
    expect(heldSlot(buyerJob?.data)).toBeUndefined();

    const [first, second] = h.telegram.messagesTo(d.seller.telegramId as bigint);
    expect(second).toBeDefined();
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(INTERVAL_MS - 50);
  });

  it('on 429 waits retry_after and then delivers, without failing or spending an attempt', async () => {
    h.telegram.failNext('sendMessage', {
      status: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfter: 1,
    });
    const d = await draftDeal(h);
    await h.drain();
    const [jobId] = await h.jobIds(d.deal.id, d.seller.id);
    const job = await h.settled(jobId as string);

    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue.outcome).toBe('sent');
    expect(job.attemptsMade).toBe(1);
    expect(heldSlot(job.data)).toBeDefined();
    const toSeller = h.telegram.calls.filter((c) => String(c.params.chat_id) === String(d.seller.telegramId));
    expect(toSeller.map((c) => c.failed?.status ?? 200)).toEqual([429, 200]);
    expect((toSeller[1]?.at ?? 0) - (toSeller[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect((await h.deliveries(d.deal.id)).map((r) => r.outcome)).toEqual(['sent']);
  });
});
