// Interface placeholder: the offline module replaces this file (IndexedDB outbox, replay, Background Sync).
import type { CreateDealInput, DealView } from '@amanat/core/api';

export type OutboxItem =
  | { kind: 'createDeal'; body: CreateDealInput }
  | { kind: 'disputeMessage'; dealId: string; text: string };

export interface OutboxEntry {
  id: string;
  /** The Idempotency-Key the replay sends: the server does the action once however often it arrives. */
  idempotencyKey: string;
  item: OutboxItem;
  createdAt: number;
  status: 'queued' | 'sending' | 'rejected';
  /** For rejected entries: the API's code and message, shown to the user until dismissed. */
  error?: { code: string; message: string };
  /** For a create that went through: the deal the server made. */
  result?: DealView;
}

/** Queue an action that is safe to do later; it is sent at once when online. */
export async function enqueue(_item: OutboxItem): Promise<OutboxEntry> {
  throw new Error('outbox not implemented yet');
}
