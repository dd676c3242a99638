import type { Redis } from 'ioredis';
import { WebSocket } from 'ws';

/** A `ws` client for tests: keeps every message it got and lets a test wait for one or for the close. */

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the server sent
export type Received = any;

export interface LiveTestClient {
  socket: WebSocket;
  messages: Received[];
  /** The first message (already received or still to come) that matches. */
  next(what: string, match: (message: Received) => boolean): Promise<Received>;
  send(message: unknown): void;
  /** Sends the auth message and waits for `ready` (or fails with the close). */
  auth(token: string): Promise<Received>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Upper bound on any single wait: a missing message fails the test with a clear name, not a hang. */
const WAIT_MS = 10_000;

const liveUrl = (httpUrl: string, path = '/api/ws') => `${httpUrl.replace(/^http/, 'ws')}${path}`;

/** Connects; rejects with the HTTP status when the upgrade is refused. */
export function openLive(
  httpUrl: string,
  opts: { headers?: Record<string, string>; path?: string; autoPong?: boolean } = {},
): Promise<LiveTestClient> {
  const socket = new WebSocket(liveUrl(httpUrl, opts.path), {
    ...(opts.headers ? { headers: opts.headers } : {}),
    autoPong: opts.autoPong ?? true,
  });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const wake of [...waiters]) wake();
    });
  });
  // Keep an unobserved close from being reported as unhandled in tests that never look at it.
  closed.catch(() => {});

  const next: LiveTestClient['next'] = (what, match) =>
    new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < messages.length; seen++) {
          if (match(messages[seen])) {
            done();
            resolve(messages[seen]);
            return;
          }
        }
        if (socket.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`connection closed before ${what}; got ${JSON.stringify(messages)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(messages)}`));
      }, WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const client: LiveTestClient = {
    socket,
    messages,
    next,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    async auth(token) {
      client.send({ type: 'auth', token });
      return next('ready', (m) => m.type === 'ready');
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      socket.terminate();
    });
    // A refused upgrade also errors once the test terminates it: a listener must stay for that.
    socket.on('error', reject);
  });
}

/** Events for one deal that a client got, in order. */
export const eventsFor = (client: LiveTestClient, dealId: string) =>
  client.messages.filter((m) => m.type === 'deal.event' && m.event.dealId === dealId).map((m) => m.event);

/** Waits until `count` connections listen on the channel, so nothing published after is missed. */
export async function waitForSubscribers(redis: Redis, channel: string, count: number): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const [, listeners] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    if (Number(listeners) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${listeners} subscribers on ${channel}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
