import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEAL_EVENTS_CHANNEL, dealEventSchema, redisKeys } from '@amanat/core';
import {
  type ClientMessage,
  clientMessageSchema,
  LIVE_CLIENT_TYPES,
  LIVE_CLOSE,
  liveErrorMessage,
  type ServerMessage,
} from '@amanat/core/api';
import { createRedis } from '@amanat/platform';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../http/problem.ts';
import type { Caller } from '../http/route.ts';

export { liveOpenApiPaths } from './openapi.ts';

export const LIVE_PATH = '/api/ws';
/** Client messages are tiny (auth, subscribe, ping); anything bigger is hostile. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;
/** A client that lets this much pile up unread is cut off rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const SESSION_CHECK_BATCH = 100;

export interface LiveHubOptions {
  /** How long a connection may stay without an auth message. */
  authTimeoutMs: number;
  /** Ping interval; a socket that did not answer the previous ping is terminated. */
  heartbeatMs: number;
  /** How often every connection's session is checked again, so a revoked one stops receiving. */
  sessionCheckMs: number;
  maxSocketsPerUser: number;
  /** Client messages allowed per heartbeat interval before the socket is closed (1008). */
  maxMessagesPerHeartbeat: number;
  /** On shutdown, how long clients get to answer the close handshake before being cut. */
  closeGraceMs: number;
  /** Upper bound of the per-client random delay in the reconnect hint, so clients do not stampede. */
  reconnectJitterMs: number;
  /** The pub/sub connection; by default a dedicated one (a subscriber cannot share the producer's). */
  createSubscriber: () => Redis;
  /**
   * Counts an upgrade against its client's per-IP limit; false refuses it with 429. Upgrades bypass
   * Express, and a socket costs memory and a file descriptor before it ever signs in.
   */
  admitUpgrade: (req: IncomingMessage) => Promise<boolean>;
}

export interface LiveHub {
  attach(server: Server): void;
  close(): Promise<void>;
}

type Verdict = { ok: true; caller: Caller } | { ok: false; reason: 'invalid' | 'unavailable' };

interface Client {
  socket: WebSocket;
  phase: 'pending' | 'authenticating' | 'ready' | 'closed';
  userId: string | null;
  operator: boolean;
  /** Subscribed to every deal's events (operators). */
  all: boolean;
  alive: boolean;
  messages: number;
  authTimer: NodeJS.Timeout | null;
  /** true: still valid; false: revoked or expired; null: could not tell (Redis or PostgreSQL away). */
  recheck: (() => Promise<boolean | null>) | null;
}

/** What `authenticate` reads from a request: only the Authorization header. */
const requestWithAuthorization = (value: string) =>
  ({
    get: (name: string) => (name.toLowerCase() === 'authorization' ? value : undefined),
    header: (name: string) => (name.toLowerCase() === 'authorization' ? value : undefined),
    headers: { authorization: value },
  }) as unknown as Request;

const pathOf = (url: string | undefined) => {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
};

/** Answers an upgrade request that will not become a WebSocket, then drops the connection. */
function refuse(socket: Duplex, status: number, extraHeaders: Record<string, string> = {}) {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = STATUS_CODES[status] ?? 'Error';
  const headers = {
    Connection: 'close',
    'Content-Type': 'text/plain',
    'Content-Length': String(Buffer.byteLength(body)),
    ...extraHeaders,
  };
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${body}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n${body}`,
  );
}

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');

/**
 * Live deal events over WebSocket at /api/ws. Events reach every API process through Redis pub/sub (the
 * outbox relay publishes each committed deal event once), and each process hands them to its own sockets
 * whose user is in the event's audience, so any number of processes behind one proxy all deliver.
 *
 * Authentication is the first message, `{"type":"auth","token":…}`, because browsers cannot set headers
 * on a WebSocket and a token in the URL would end up in proxy logs; non-browser clients may send an
 * Authorization header on the upgrade instead. Sessions are checked again every `sessionCheckMs` (one
 * Redis GET per socket), so a revoked session stops receiving within that interval.
 */
export function createLiveHub(
  ctx: ApiContext,
  authenticate: (req: Request) => Promise<Caller>,
  options: Partial<LiveHubOptions> = {},
): LiveHub {
  const opts: LiveHubOptions = {
    authTimeoutMs: 5000,
    heartbeatMs: 30_000,
    sessionCheckMs: 60_000,
    maxSocketsPerUser: 16,
    maxMessagesPerHeartbeat: 120,
    closeGraceMs: 3000,
    reconnectJitterMs: 5000,
    createSubscriber: () => createRedis(ctx.config.REDIS_URL, 'worker', 'api-live'),
    admitUpgrade: async () => true,
    ...options,
  };
  const logger = ctx.logger.child({ component: 'live' });
  const channel = redisKeys(ctx.config.REDIS_PREFIX).channel(DEAL_EVENTS_CHANNEL);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    clientTracking: false,
  });

  const clients = new Set<Client>();
  const byUser = new Map<string, Set<Client>>();
  const everything = new Set<Client>();
  const servers = new Set<Server>();
  let subscriber: Redis | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let sessionCheck: NodeJS.Timeout | null = null;
  let closing = false;

  async function verify(authorization: string): Promise<Verdict> {
    try {
      return { ok: true, caller: await authenticate(requestWithAuthorization(authorization)) };
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) return { ok: false, reason: 'invalid' };
      logger.warn({ err }, 'could not authenticate a live connection');
      return { ok: false, reason: 'unavailable' };
    }
  }

  /** Bearer sessions: one Redis GET. Init data: the full check again, which expires it by its age. */
  function recheckFor(authorization: string, caller: Caller): () => Promise<boolean | null> {
    if (caller.sessionId !== null) {
      const token = authorization.slice(authorization.indexOf(' ') + 1).trim();
      return async () => {
        try {
          const session = await ctx.sessions.get(token);
          return session !== null && session.userId === caller.user.id;
        } catch {
          return null;
        }
      };
    }
    return async () => {
      const verdict = await verify(authorization);
      if (verdict.ok) return verdict.caller.user.id === caller.user.id;
      return verdict.reason === 'invalid' ? false : null;
    };
  }

  function send(client: Client, message: ServerMessage | string) {
    const { socket } = client;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      logger.warn({ userId: client.userId }, 'live client does not read its messages: cutting it off');
      socket.terminate();
      return;
    }
    socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Stops routing anything to the client; the socket itself goes when its close completes. */
  function detach(client: Client) {
    client.phase = 'closed';
    if (client.authTimer) clearTimeout(client.authTimer);
    client.authTimer = null;
    everything.delete(client);
    if (client.userId) {
      const own = byUser.get(client.userId);
      own?.delete(client);
      if (own?.size === 0) byUser.delete(client.userId);
    }
  }

  function closeClient(client: Client, close: { code: number; reason: string }) {
    detach(client);
    const { socket } = client;
    if (socket.readyState === WebSocket.OPEN) socket.close(close.code, close.reason);
    else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
  }

  function admit(client: Client, caller: Caller, authorization: string) {
    if (client.phase === 'closed') return;
    if (client.authTimer) clearTimeout(client.authTimer);
    client.authTimer = null;
    const own = byUser.get(caller.user.id) ?? new Set<Client>();
    if (own.size >= opts.maxSocketsPerUser) {
      closeClient(client, LIVE_CLOSE.tooMany);
      return;
    }
    own.add(client);
    byUser.set(caller.user.id, own);
    client.phase = 'ready';
    client.userId = caller.user.id;
    client.operator = caller.operator;
    client.recheck = recheckFor(authorization, caller);
    send(client, { type: 'ready', userId: caller.user.id });
  }

  function connect(socket: WebSocket): Client {
    const client: Client = {
      socket,
      phase: 'pending',
      userId: null,
      operator: false,
      all: false,
      alive: true,
      messages: 0,
      authTimer: null,
      recheck: null,
    };
    clients.add(client);
    client.authTimer = setTimeout(() => {
      if (client.phase === 'pending' || client.phase === 'authenticating') {
        closeClient(client, LIVE_CLOSE.authTimeout);
      }
    }, opts.authTimeoutMs);
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      try {
        onMessage(client, data, isBinary);
      } catch (err) {
        logger.error({ err }, 'live message handling failed');
      }
    });
    socket.on('close', () => {
      detach(client);
      clients.delete(client);
    });
    // Oversized or invalid frames end up here; ws closes the socket itself (1009, 1002).
    socket.on('error', (err) => logger.debug({ err }, 'live socket error'));
    return client;
  }

  function onMessage(client: Client, data: RawData, isBinary: boolean) {
    if (client.phase === 'closed') return;
    client.messages += 1;
    if (client.messages > opts.maxMessagesPerHeartbeat) {
      closeClient(client, LIVE_CLOSE.policy);
      return;
    }
    if (isBinary) return send(client, liveErrorMessage('message_malformed'));
    let json: unknown;
    try {
      json = JSON.parse(textOf(data));
    } catch {
      return send(client, liveErrorMessage('message_malformed'));
    }
    const parsed = clientMessageSchema.safeParse(json);
    if (!parsed.success) {
      const type =
        json !== null && typeof json === 'object' && !Array.isArray(json)
          ? (json as { type?: unknown }).type
          : undefined;
      const known = typeof type === 'string' && (LIVE_CLIENT_TYPES as readonly string[]).includes(type);
      return send(
        client,
        liveErrorMessage(known || type === undefined ? 'message_malformed' : 'unknown_message'),
      );
    }
    handle(client, parsed.data);
  }

  function handle(client: Client, message: ClientMessage) {
    switch (message.type) {
      case 'ping':
        return send(client, { type: 'pong' });
      case 'auth': {
        if (client.phase === 'ready') return send(client, liveErrorMessage('already_authenticated'));
        if (client.phase === 'authenticating') return send(client, liveErrorMessage('auth_in_progress'));
        client.phase = 'authenticating';
        const authorization = `Bearer ${message.token}`;
        void verify(authorization).then((verdict) => {
          if (client.phase !== 'authenticating') return;
          if (verdict.ok) admit(client, verdict.caller, authorization);
          else
            closeClient(
              client,
              verdict.reason === 'invalid' ? LIVE_CLOSE.sessionInvalid : LIVE_CLOSE.internal,
            );
        });
        return;
      }
      case 'subscribe': {
        if (client.phase !== 'ready') return send(client, liveErrorMessage('auth_required'));
        if (!client.operator) return send(client, liveErrorMessage('operator_only'));
        client.all = true;
        everything.add(client);
        return send(client, { type: 'subscribed', scope: 'all' });
      }
    }
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    // A peer that resets mid-handshake must not take the process down.
    socket.on('error', () => {});
    if (pathOf(req.url) !== LIVE_PATH) return refuse(socket, 404);
    if (closing) return refuse(socket, 503, { 'Retry-After': '1' });
    // Tokens travel in messages, not cookies, so another site cannot ride a session; this only keeps
    // browsers to the app, as CORS does for HTTP.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== ctx.config.APP_ORIGIN) return refuse(socket, 403);
    void opts.admitUpgrade(req).then(
      (admitted) => {
        if (socket.destroyed) return;
        if (admitted) upgrade(req, socket, head);
        else refuse(socket, 429, { 'Retry-After': '60' });
      },
      () => refuse(socket, 503, { 'Retry-After': '5' }),
    );
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const authorization = req.headers.authorization;
    if (!authorization) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        connect(ws);
      });
      return;
    }
    void verify(authorization).then((verdict) => {
      if (socket.destroyed) return;
      if (!verdict.ok) {
        return verdict.reason === 'invalid'
          ? refuse(socket, 401, { 'WWW-Authenticate': 'Bearer realm="amanat"' })
          : refuse(socket, 503, { 'Retry-After': '5' });
      }
      if (closing) return refuse(socket, 503, { 'Retry-After': '1' });
      wss.handleUpgrade(req, socket, head, (ws) => {
        admit(connect(ws), verdict.caller, authorization);
      });
    });
  }

  function deliver(message: string) {
    let parsed: ReturnType<typeof dealEventSchema.safeParse>;
    try {
      parsed = dealEventSchema.safeParse(JSON.parse(message));
    } catch {
      logger.warn({ bytes: message.length }, 'dropped a deal event that is not JSON');
      return;
    }
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.length }, 'dropped a malformed deal event');
      return;
    }
    const event = parsed.data;
    const frame = JSON.stringify({ type: 'deal.event', event } satisfies ServerMessage);
    for (const client of everything) send(client, frame);
    for (const userId of new Set(event.audience)) {
      for (const client of byUser.get(userId) ?? []) if (!client.all) send(client, frame);
    }
  }

  function startFeed() {
    const sub = opts.createSubscriber();
    subscriber = sub;
    let lost = false;
    sub.on('message', (from: string, message: string) => {
      if (from === channel) deliver(message);
    });
    sub.on('close', () => {
      if (!closing) lost = true;
    });
    // Pub/sub keeps nothing for absent subscribers: after an outage, clients are told to refetch.
    sub.on('ready', () => {
      if (!lost) return;
      lost = false;
      sub.subscribe(channel).then(
        () => {
          logger.warn('live event feed restored; asking clients to resync');
          for (const client of clients) if (client.phase === 'ready') send(client, { type: 'resync' });
        },
        (err) => logger.error({ err }, 'could not resubscribe to deal events'),
      );
    });
    sub.subscribe(channel).catch((err) => logger.error({ err }, 'could not subscribe to deal events'));
  }

  let checking = false;
  async function checkSessions() {
    if (checking) return;
    checking = true;
    try {
      const ready = [...clients].filter((c) => c.phase === 'ready' && c.recheck);
      for (let i = 0; i < ready.length; i += SESSION_CHECK_BATCH) {
        await Promise.all(
          ready.slice(i, i + SESSION_CHECK_BATCH).map(async (client) => {
            const valid = await client.recheck?.();
            if (valid === false && client.phase === 'ready') closeClient(client, LIVE_CLOSE.sessionInvalid);
          }),
        );
      }
    } finally {
      checking = false;
    }
  }

  function startTimers() {
    heartbeat = setInterval(() => {
      for (const client of clients) {
        if (!client.alive) {
          detach(client);
          client.socket.terminate();
          continue;
        }
        client.alive = false;
        client.messages = 0;
        if (client.socket.readyState === WebSocket.OPEN) client.socket.ping();
      }
    }, opts.heartbeatMs);
    heartbeat.unref();
    sessionCheck = setInterval(() => {
      checkSessions().catch((err) => logger.warn({ err }, 'live session check failed'));
    }, opts.sessionCheckMs);
    sessionCheck.unref();
  }

  return {
    attach(server) {
      if (closing || servers.has(server)) return;
      servers.add(server);
      server.on('upgrade', onUpgrade);
      if (!subscriber) {
        startFeed();
        startTimers();
      }
    },

    async close() {
      if (closing) return;
      closing = true;
      if (heartbeat) clearInterval(heartbeat);
      if (sessionCheck) clearInterval(sessionCheck);
      // The upgrade listener stays: until the server stops listening it answers 503 instead of hanging.
      const closed: Promise<unknown>[] = [];
      for (const client of clients) {
        const { socket } = client;
        if (socket.readyState === WebSocket.CLOSED) continue;
        closed.push(new Promise((resolve) => socket.once('close', resolve)));
        send(client, { type: 'reconnect', retryAfterMs: Math.floor(Math.random() * opts.reconnectJitterMs) });
        closeClient(client, LIVE_CLOSE.restart);
      }
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise((resolve) => {
          grace = setTimeout(resolve, opts.closeGraceMs);
        }),
      ]);
      clearTimeout(grace);
      for (const client of clients) client.socket.terminate();
      if (subscriber) await subscriber.quit().catch(() => subscriber?.disconnect());
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
