import { api, isNetworkError } from '#lib/api/index.ts';
import { enqueue } from '#lib/offline/outbox.svelte.ts';
import { network } from '#lib/state/network.svelte.ts';

/**
 * Send a dispute message; when the network fails (before or after the request left) queue it in the
 * outbox under the SAME Idempotency-Key, so a message the server did receive is not posted twice.
 * Resolves 'sent' or 'queued'; an ApiError (the server said no) is thrown for the caller to explain.
 */
export async function sendDisputeMessage(
  dealId: string,
  text: string,
  idempotencyKey: string,
): Promise<'sent' | 'queued'> {
  const queue = async () => {
    await enqueue({ kind: 'disputeMessage', dealId, text }, { idempotencyKey });
    return 'queued' as const;
  };
  if (!network.online) return queue();
  try {
    await api.act(dealId, 'dispute/messages', { text }, idempotencyKey);
    return 'sent';
  } catch (err) {
    if (isNetworkError(err)) return queue();
    throw err;
  }
}
