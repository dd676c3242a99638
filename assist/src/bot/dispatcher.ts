import type { Logger } from '@amanat/platform';

/** The part of a Telegram update the dispatcher reads; the handlers check the rest. */
export interface IncomingUpdate {
  update_id: number;
  message?: { from?: { id: number } };
  callback_query?: { from?: { id: number } };
  my_chat_member?: { from?: { id: number } };
}

export interface DispatcherOptions {
  /** Updates handled or waiting at once, over all users: polling stops fetching at this many. */
  maxInFlight?: number;
  /** Updates one user may have handled or waiting; more are turned away (see `onOverflow`). */
  maxPerUser?: number;
  /**
   * Told about an update turned away because its user has too many waiting. `firstInBurst` is true for
   * the first one since the user's backlog was last empty, so the user is told once, not per message.
   */
  onOverflow?: (update: IncomingUpdate, firstInBurst: boolean) => void;
}

export interface Dispatcher {
  /** Queues an update behind the same user's earlier ones and returns at once. */
  dispatch(update: IncomingUpdate): void;
  /** Resolves when fewer than the cap are in flight (or `signal` aborts): polling waits here. */
  capacity(signal: AbortSignal): Promise<void>;
  /** At the cap: a webhook answers 503 and Telegram sends the update again later. */
  full(): boolean;
  inFlight(): number;
  /** Waits for the updates in flight, at most `ms`. */
  drain(ms: number): Promise<void>;
}

/**
 * Runs updates concurrently across users and in order for each user. One slow answer (the assistant
 * can take many seconds) must not hold up everyone else, as telegraf's own polling loop would; a user's
 * second message must still be handled after their first. The global cap bounds memory when updates
 * arrive faster than they are handled: polling stops fetching until some finish. The per-user cap keeps
 * one user's backlog (64 forwarded messages) from filling the global cap and stalling everyone else.
 */
export function createDispatcher(
  handle: (update: IncomingUpdate) => Promise<void>,
  logger: Logger,
  opts: DispatcherOptions = {},
): Dispatcher {
  const maxInFlight = opts.maxInFlight ?? 64;
  const maxPerUser = opts.maxPerUser ?? 3;
  const tails = new Map<string, Promise<void>>();
  /** Per user: updates handled or waiting, and whether this burst was already turned away once. */
  const backlogs = new Map<string, { count: number; overflowed: boolean }>();
  let inFlight = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };

  const userOf = (u: IncomingUpdate) =>
    u.message?.from?.id ?? u.callback_query?.from?.id ?? u.my_chat_member?.from?.id;

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
      const user = userOf(update);
      const key = user === undefined ? `update:${update.update_id}` : `user:${user}`;
      const backlog = backlogs.get(key) ?? { count: 0, overflowed: false };
      // Joining or unblocking the bot is never turned away: it is what makes the user reachable again.
      if (backlog.count >= maxPerUser && !update.my_chat_member) {
        logger.info(
          { updateId: update.update_id, backlog: backlog.count },
          'a user has too many updates waiting; dropped one',
        );
        const first = !backlog.overflowed;
        backlog.overflowed = true;
        try {
          opts.onOverflow?.(update, first);
        } catch (err) {
          logger.warn({ err }, 'could not tell a user to wait');
        }
        return;
      }
      backlog.count += 1;
      backlogs.set(key, backlog);
      inFlight += 1;
      const run: Promise<void> = (tails.get(key) ?? Promise.resolve())
        .then(() => handle(update))
        .catch((err) => {
          logger.error({ err, updateId: update.update_id }, 'telegram update failed');
        })
        .finally(() => {
          inFlight -= 1;
          backlog.count -= 1;
          if (backlog.count === 0) backlogs.delete(key);
          if (tails.get(key) === run) tails.delete(key);
          wake();
        });
      tails.set(key, run);
    },
    async capacity(signal) {
      while (inFlight >= maxInFlight && !signal.aborted) await waitForChange(signal);
    },
    full: () => inFlight >= maxInFlight,
    inFlight: () => inFlight,
    async drain(ms) {
      const deadline = Date.now() + ms;
      while (inFlight > 0 && Date.now() < deadline) await waitForChange(undefined, deadline - Date.now());
    },
  };
}
