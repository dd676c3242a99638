import { type OutboxEntry, outbox } from '#lib/offline/outbox.svelte.ts';

/** Queued or rejected deal creations, newest first, for the top of the deals list. */
export const pendingCreates = (): OutboxEntry[] =>
  outbox.entries.filter((e) => e.item.kind === 'createDeal').toSorted((a, b) => b.createdAt - a.createdAt);

/** Dispute messages for one deal that the server has not taken yet. */
export const pendingMessages = (dealId: string): OutboxEntry[] =>
  outbox.entries.filter((e) => e.item.kind === 'disputeMessage' && e.item.dealId === dealId && !e.result);

export const dismissEntry = (id: string): Promise<void> => outbox.dismiss(id);
