import type { Logger } from '@amanat/platform';

/** The part of a Telegram update the dispatcher reads; the handlers check the rest. */
export interface IncomingUpdate {
  update_id: number;
  message?: { from?: { id: number } };
  callback_query?: { from?: { id: number } };
}

export interface Dispatcher {
  /** Queues an update behind the same user's earlier ones and returns at once. */
  dispatch(update: IncomingUpdate): void;
  /** Resolves when fewer than the cap are in flight (or `signal` aborts): polling waits here. */
  capacity(signal: AbortSignal): Promise<void>;
  inFlight(): number;
  /** Waits for the updates in flight, at most `ms`. */
  drain(ms: number): Promise<void>;
}

/**
 * Runs updates concurrently across users and in order for each user. One slow answer (the assistant
 * can take many seconds) must not hold up everyone else, as telegraf's own polling loop would; a user's
 * second message must still be handled after their first. The cap bounds memory when updates arrive
 * faster than they are handled: polling stops fetching until some finish.
 */
export function createDispatcher(
  handle: (update: IncomingUpdate) => Promise<void>,
  logger: Logger,
  maxInFlight = 64,
): Dispatcher {
  const tails = new Map<string, Promise<void>>();
  let inFlight = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };

  const orderKey = (u: IncomingUpdate) => {
    const from = u.message?.from?.id ?? u.callback_query?.from?.id;
    return from === undefined ? `update:${u.update_id}` : `user:${from}`;
  };

  const waitForChange = (signal?: AbortSignal, ms?: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        waiters.delete(done);
        signal?.removeEventListener('abort', done);
        if (timer) clearTimeout(timer);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });

  return {
    dispatch(update) {
      const key = orderKey(update);
      inFlight += 1;
      const run: Promise<void> = (tails.get(key) ?? Promise.resolve())
        .then(() => handle(update))
        .catch((err) => {
          logger.error({ err, updateId: update.update_id }, 'telegram update failed');
        })
        .finally(() => {
          inFlight -= 1;
          if (tails.get(key) === run) tails.delete(key);
          wake();
        });
      tails.set(key, run);
    },
    async capacity(signal) {
      while (inFlight >= maxInFlight && !signal.aborted) await waitForChange(signal);
    },
    inFlight: () => inFlight,
    async drain(ms) {
      const deadline = Date.now() + ms;
      while (inFlight > 0 && Date.now() < deadline) await waitForChange(undefined, deadline - Date.now());
    },
  };
}
