// A Bot API double for tests and benchmarks: an HTTP server that speaks Telegram's Bot API protocol
// (https://core.telegram.org/bots/api) at <root>/bot<token>/<method>, so the real client libraries
// (telegraf) run against it unchanged. It records every call, serves long-polling getUpdates from updates
// a test pushes, and fails on demand (429 with retry_after, 403 for a chat that blocked the bot, 5xx).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BotApiCall {
  method: string;
  token: string;
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are whatever the method takes
  params: Record<string, any>;
  at: number;
}

export interface TelegramUserDouble {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface Failure {
  status: number;
  description: string;
  /** 429: seconds the client must wait. */
  retryAfter?: number;
}

export interface TelegramDouble {
  /** Pass as TELEGRAM_API_ROOT / telegraf's `telegram.apiRoot`. */
  apiRoot: string;
  token: string;
  botUser: { id: number; is_bot: true; first_name: string; username: string };
  /** Every call so far, in arrival order (failed ones too, with `failed` set). */
  calls: Array<BotApiCall & { failed?: Failure }>;
  /** Successful calls of one method. */
  callsOf(method: string): BotApiCall[];
  /** Messages successfully sent to a chat (sendMessage and editMessageText params). */
  messagesTo(chatId: number | bigint): BotApiCall[];
  /** Queues an update for getUpdates; returns its update_id. */
  pushUpdate(update: Record<string, unknown>): number;
  /** A private-chat text message from a user (a command when it starts with /). */
  sendText(from: TelegramUserDouble, text: string): number;
  /** A press of an inline button with callback data on a message the bot sent. */
  pressButton(from: TelegramUserDouble, data: string, message?: Record<string, unknown>): number;
  /** Updates the client has not confirmed yet (getUpdates offset). */
  pendingUpdates(): number;
  /** The next `times` calls of `method` fail with this answer. */
  failNext(method: string, failure: Failure, times?: number): void;
  /** Every call of `method` fails with this answer until `heal` (null: every method). */
  failAll(method: string | null, failure: Failure): void;
  heal(): void;
  /** Messages to this chat fail with 403 "bot was blocked by the user". */
  blockChat(chatId: number | bigint): void;
  /** Resolves when a successful call matches, or rejects after `timeoutMs`. */
  waitForCall(method: string, match?: (c: BotApiCall) => boolean, timeoutMs?: number): Promise<BotApiCall>;
  /** Answers after this many ms (simulates a slow or far Bot API). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

const DEFAULT_TOKEN = '7000001:AAH-test-token-for-amanat-api-tests_0123456789';

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (!body) return params;
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return { ...params, ...JSON.parse(body) };
  if (type.includes('application/x-www-form-urlencoded'))
    return { ...params, ...Object.fromEntries(new URLSearchParams(body)) };
  if (type.includes('multipart/form-data')) {
    // telegraf sends multipart only for files; plain fields are enough for what Amanat sends.
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
    const sep = `--${boundary?.[1] ?? boundary?.[2]}`;
    for (const part of body.split(sep)) {
      const m = /name="([^"]+)"\r\n\r\n([\s\S]*)\r\n$/.exec(part);
      if (m?.[1]) params[m[1]] = m[2];
    }
    return params;
  }
  return params;
}

/** Bot API values arrive as JSON or as strings (form encoding); objects sent as strings are JSON. */
function normalize(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'string' && /^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {}
    }
    out[k] = v;
  }
  return out;
}

export async function startTelegramDouble(
  opts: { token?: string; username?: string } = {},
): Promise<TelegramDouble> {
  const token = opts.token ?? DEFAULT_TOKEN;
  const botUser = {
    id: Number(token.split(':')[0]),
    is_bot: true as const,
    first_name: 'Amanat',
    username: opts.username ?? 'amanat_test_bot',
  };
  const calls: TelegramDouble['calls'] = [];
  const updates: Array<{ update_id: number } & Record<string, unknown>> = [];
  let nextUpdateId = 1;
  let nextMessageId = 1;
  const failures = new Map<string, { failure: Failure; times: number }>();
  let failEverything: { method: string | null; failure: Failure } | null = null;
  const blocked = new Set<string>();
  let latencyMs = 0;
  const pollers = new Set<() => void>();
  const callWaiters = new Set<() => void>();

  const wakePollers = () => {
    for (const wake of pollers) wake();
  };

  const failureFor = (method: string, params: Record<string, unknown>): Failure | null => {
    if (failEverything && (failEverything.method === null || failEverything.method === method))
      return failEverything.failure;
    const once = failures.get(method);
    if (once && once.times > 0) {
      once.times -= 1;
      if (once.times === 0) failures.delete(method);
      return once.failure;
    }
    if (params.chat_id !== undefined && blocked.has(String(params.chat_id)) && method.startsWith('send'))
      return { status: 403, description: 'Forbidden: bot was blocked by the user' };
    return null;
  };

  const messageFor = (params: Record<string, unknown>) => ({
    message_id: nextMessageId++,
    date: Math.floor(Date.now() / 1000),
    chat: { id: Number(params.chat_id), type: 'private' },
    from: botUser,
    text: params.text,
    ...(params.reply_markup ? { reply_markup: params.reply_markup } : {}),
  });

  async function getUpdates(params: Record<string, unknown>, res: ServerResponse): Promise<unknown[]> {
    const offset = Number(params.offset ?? 0);
    // Confirming an offset forgets every earlier update, as Telegram does.
    while (updates.length > 0 && offset > 0 && (updates[0] as { update_id: number }).update_id < offset)
      updates.shift();
    const limit = Number(params.limit ?? 100);
    if (updates.length === 0) {
      const timeoutMs = Math.min(Number(params.timeout ?? 0), 50) * 1000;
      if (timeoutMs > 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            pollers.delete(done);
            res.off('close', done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          pollers.add(done);
          res.once('close', done);
        });
      }
    }
    return updates.slice(0, limit);
  }

  async function answer(
    method: string,
    params: Record<string, unknown>,
    res: ServerResponse,
  ): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return botUser;
      case 'getUpdates':
        return getUpdates(params, res);
      case 'sendMessage':
        return messageFor(params);
      case 'editMessageText':
        return { ...messageFor(params), message_id: Number(params.message_id) };
      case 'getWebhookInfo':
        return { url: '', has_custom_certificate: false, pending_update_count: 0 };
      case 'getMyCommands':
        return [];
      default:
        // setWebhook, deleteWebhook, answerCallbackQuery, sendChatAction, setMyCommands, setChatMenuButton, …
        return true;
    }
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://double');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, callToken, method] = m as unknown as [string, string, string];
    let params: Record<string, unknown>;
    try {
      params = normalize(await readParams(req, url));
    } catch {
      return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid body' });
    }
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (callToken !== token) {
      calls.push({
        method,
        token: callToken,
        params,
        at: Date.now(),
        failed: { status: 401, description: 'Unauthorized' },
      });
      return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const failure = failureFor(method, params);
    const call: BotApiCall & { failed?: Failure } = { method, token: callToken, params, at: Date.now() };
    if (failure) call.failed = failure;
    if (method !== 'getUpdates') calls.push(call);
    if (failure) {
      return reply(failure.status, {
        ok: false,
        error_code: failure.status,
        description: failure.description,
        ...(failure.retryAfter !== undefined ? { parameters: { retry_after: failure.retryAfter } } : {}),
      });
    }
    const result = await answer(method, params, res);
    if (method !== 'getUpdates') for (const wake of callWaiters) wake();
    if (!res.writableEnded && !res.destroyed) reply(200, { ok: true, result });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ok = (c: BotApiCall & { failed?: Failure }) => !c.failed;
  const double: TelegramDouble = {
    apiRoot,
    token,
    botUser,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method && ok(c)),
    messagesTo: (chatId) =>
      calls.filter(
        (c) =>
          ok(c) &&
          (c.method === 'sendMessage' || c.method === 'editMessageText') &&
          String(c.params.chat_id) === String(chatId),
      ),
    pushUpdate(update) {
      const update_id = nextUpdateId++;
      updates.push({ update_id, ...update });
      wakePollers();
      return update_id;
    },
    sendText(from, text) {
      const command = /^\/\w+/.exec(text);
      return double.pushUpdate({
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: from.id, type: 'private', first_name: from.first_name },
          from: { is_bot: false, ...from },
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
        },
      });
    },
    pressButton(from, data, message) {
      return double.pushUpdate({
        callback_query: {
          id: String(nextUpdateId * 1000 + 7),
          from: { is_bot: false, ...from },
          chat_instance: String(from.id),
          data,
          message: message ?? {
            message_id: nextMessageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: from.id, type: 'private' },
            from: botUser,
            text: '',
          },
        },
      });
    },
    pendingUpdates: () => updates.length,
    failNext(method, failure, times = 1) {
      failures.set(method, { failure, times });
    },
    failAll(method, failure) {
      failEverything = { method, failure };
    },
    heal() {
      failEverything = null;
      failures.clear();
    },
    blockChat(chatId) {
      blocked.add(String(chatId));
    },
    waitForCall(method, match = () => true, timeoutMs = 10_000) {
      const find = () => calls.find((c) => c.method === method && ok(c) && match(c));
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = find();
          if (!hit) return;
          cleanup();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no successful ${method} call within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          callWaiters.delete(check);
        };
        callWaiters.add(check);
      });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    async close() {
      wakePollers();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return double;
}
