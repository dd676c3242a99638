import type { DealEvent } from '@amanat/core';

/**
 * One WebSocket to the API's /api/ws that survives restarts, flaky networks and sleeping phones:
 * authenticates with the session, reconnects with jittered backoff (or when the server says how long to
 * wait), and hands each deal event to the subscribers once. Framework-free so it can be tested with a
 * fake socket; deal-events.svelte.ts wires it to the session and exposes `live.connected`.
 */

/** Told to subscribers when events may have been missed (a resync from the server, a reconnect). */
export interface ResyncSignal {
  kind: 'resync';
}
export type LiveSignal = DealEvent | ResyncSignal;
export const isResync = (signal: LiveSignal): signal is ResyncSignal =>
  (signal as Partial<ResyncSignal>).kind === 'resync';

export interface LiveClientOptions {
  /** The socket's URL (ws: or wss:). */
  url: () => string;
  token: () => string | null;
  /** The server refused the session (close 4401). */
  onSessionInvalid: () => void;
  onConnectedChange: (connected: boolean) => void;
  /** 0 ≤ n < 1; injectable so tests are deterministic. */
  random?: () => number;
}

// Close codes from core's LIVE_CLOSE (values only: importing it would pull zod into the bundle).
const CLOSE_SESSION_INVALID = 4401;
const CLOSE_TOO_MANY = 4429;
const CLOSE_POLICY = 1008;

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** After too many connections or a rate limit, trying again soon only makes it worse. */
const BACKOFF_PENALTY_MS = 30_000;
/** Keep-alive: a ping this often; a socket silent for two rounds is dead (phones drop them quietly). */
const PING_EVERY_MS = 25_000;
const SILENCE_LIMIT_MS = 2 * PING_EVERY_MS + 5000;
/** Linger after the last subscriber leaves, so moving between screens does not reconnect. */
const LINGER_MS = 5000;
const SEEN_LIMIT = 500;

export interface LiveClient {
  subscribe(onSignal: (signal: LiveSignal) => void): () => void;
  /** Connect now if anyone listens (after sign-in, or when the network is back). */
  wake(): void;
  /** Close and stay closed until wake() (sign-out). */
  stop(): void;
}

export function createLiveClient(options: LiveClientOptions): LiveClient {
  const random = options.random ?? Math.random;
  const subscribers = new Set<(signal: LiveSignal) => void>();
  const seen = new Set<string>();
  let socket: WebSocket | null = null;
  let connected = false;
  let attempts = 0;
  /** Set by the server's `reconnect` message: the delay it asked for before the 1012 close. */
  let serverDelayMs: number | null = null;
  /** Until when the server asked us (a delay, a penalty for too many connections) not to come back. */
  let notBefore = 0;
  let everReady = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let lingerTimer: ReturnType<typeof setTimeout> | null = null;
  let pingTimer: ReturnType<typeof setInterval> | null = null;
  let lastHeard = 0;

  function setConnected(value: boolean) {
    if (connected === value) return;
    connected = value;
    options.onConnectedChange(value);
  }

  function emit(signal: LiveSignal) {
    for (const fn of [...subscribers]) {
      try {
        fn(signal);
      } catch {
        // One screen's failure must not keep events from the others.
      }
    }
  }

  function remember(id: string): boolean {
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
    return true;
  }

  function clearTimers() {
    if (retryTimer) clearTimeout(retryTimer);
    if (pingTimer) clearInterval(pingTimer);
    retryTimer = null;
    pingTimer = null;
  }

  function connect() {
    clearTimers();
    const token = options.token();
    if (!token || subscribers.size === 0 || socket) return;
    if (typeof WebSocket === 'undefined') return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(options.url());
    } catch {
      scheduleRetry(null);
      return;
    }
    socket = ws;
    lastHeard = Date.now();
    ws.onopen = () => {
      lastHeard = Date.now();
      ws.send(JSON.stringify({ type: 'auth', token }));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (socket !== ws) return;
      lastHeard = Date.now();
      onMessage(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      clearTimers();
      setConnected(false);
      if (ev.code === CLOSE_SESSION_INVALID) {
        options.onSessionInvalid();
        return;
      }
      scheduleRetry(ev.code);
    };
    // An error is always followed by a close; the close decides what happens next.
    ws.onerror = () => {};
    pingTimer = setInterval(() => {
      if (socket !== ws) return;
      if (Date.now() - lastHeard > SILENCE_LIMIT_MS) {
        drop(ws);
        return;
      }
      if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'ping' }));
    }, PING_EVERY_MS);
  }

  /** Give up on a socket that stopped answering, as if it had closed. */
  function drop(ws: WebSocket) {
    socket = null;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close();
    } catch {
      // Already closed.
    }
    clearTimers();
    setConnected(false);
    scheduleRetry(null);
  }

  function onMessage(data: unknown) {
    if (typeof data !== 'string') return;
    let message: { type?: string; event?: DealEvent; retryAfterMs?: number };
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.type) {
      case 'ready': {
        attempts = 0;
        serverDelayMs = null;
        notBefore = 0;
        setConnected(true);
        // Whatever happened while the socket was down was not delivered: screens refetch.
        if (everReady) emit({ kind: 'resync' });
        everReady = true;
        break;
      }
      case 'deal.event':
        if (message.event && remember(message.event.id)) emit(message.event);
        break;
      case 'resync':
        emit({ kind: 'resync' });
        break;
      case 'reconnect':
        if (typeof message.retryAfterMs === 'number') serverDelayMs = message.retryAfterMs;
        break;
    }
  }

  function scheduleRetry(closeCode: number | null) {
    if (subscribers.size === 0 || !options.token()) return;
    let delay: number;
    if (serverDelayMs !== null) {
      delay = serverDelayMs;
      serverDelayMs = null;
      notBefore = Date.now() + delay;
    } else {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempts);
      // Full jitter in the upper half: clients that lost one server do not all come back at once.
      delay = base / 2 + random() * (base / 2);
      if (closeCode === CLOSE_TOO_MANY || closeCode === CLOSE_POLICY) {
        delay += BACKOFF_PENALTY_MS;
        notBefore = Date.now() + delay;
      }
    }
    attempts++;
    retryTimer = setTimeout(connect, delay);
  }

  function close() {
    clearTimers();
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000, 'done');
      } catch {
        // Already closed.
      }
    }
    setConnected(false);
  }

  return {
    subscribe(onSignal) {
      subscribers.add(onSignal);
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = null;
      if (!socket && !retryTimer) connect();
      return () => {
        subscribers.delete(onSignal);
        if (subscribers.size > 0) return;
        if (lingerTimer) clearTimeout(lingerTimer);
        lingerTimer = setTimeout(() => {
          lingerTimer = null;
          if (subscribers.size === 0) close();
        }, LINGER_MS);
      };
    },
    wake() {
      if (socket) return;
      // What the server asked for stands: a wake (back online, back in the foreground) does not skip it.
      const wait = notBefore - Date.now();
      if (wait > 0) {
        if (!retryTimer) retryTimer = setTimeout(connect, wait);
        return;
      }
      // Try now, but keep the attempt count: if this fails too, the backoff goes on where it was.
      connect();
    },
    stop() {
      everReady = false;
      attempts = 0;
      seen.clear();
      close();
    },
  };
}

/** The API's base URL (http/https) → its WebSocket endpoint (ws/wss). */
export const liveUrl = (apiBase: string): string =>
  `${apiBase.replace(/\/+$/, '').replace(/^http/, 'ws')}/api/ws`;
