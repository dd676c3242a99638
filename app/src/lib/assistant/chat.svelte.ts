import { CHAT_STORAGE_KEY } from './saved-chats.ts';
import { createSseParser, readCompletionChunk, type StreamError } from './sse.ts';

export { clearSavedChats } from './saved-chats.ts';

/** The one model the assist proxy offers (core's ASSISTANT_MODEL; only types may come from core here). */
export const ASSISTANT_MODEL = 'amanat-assistant';
/** How many turns the screen keeps; the proxy trims what it sends the model to its own budget anyway. */
export const MAX_TURNS = 40;
const STORAGE_KEY = CHAT_STORAGE_KEY;

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
  /** The user stopped this answer before it was complete. */
  stopped?: boolean;
}

/** Why a request failed, as the screen explains it. */
export type ChatErrorKind =
  | 'offline'
  | 'unreachable'
  | 'signed_out'
  | 'quota'
  | 'rate_limited'
  | 'unavailable'
  | 'interrupted'
  | 'refused';

export interface ChatError {
  kind: ChatErrorKind;
  /** The proxy's own sentence, for kinds the app has no better words for. */
  message: string | null;
  retryAfterSec: number | null;
}

export interface ChatOptions {
  /** The assist proxy's base URL (PUBLIC_ASSIST_URL). */
  baseUrl: string;
  token: () => string | null;
  /** The proxy refused the session: the app signs the user in again. */
  onUnauthorized?: () => void;
  online?: () => boolean;
  fetch?: typeof fetch;
  /** Where the conversation survives a reload (sessionStorage); none keeps it in memory only. */
  storage?: Storage | null;
  /** Names the stored conversation, so one person's chat never shows for another. */
  storageScope?: string;
}

const isTurn = (value: unknown): value is ChatTurn =>
  typeof value === 'object' &&
  value !== null &&
  ((value as ChatTurn).role === 'user' || (value as ChatTurn).role === 'assistant') &&
  typeof (value as ChatTurn).content === 'string';

/** The error an HTTP answer stands for; the body is OpenAI's `{error: {message, code}}`. */
async function errorOf(res: Response): Promise<ChatError> {
  let message: string | null = null;
  let code: string | null = null;
  try {
    const body = (await res.json()) as { error?: { message?: unknown; code?: unknown } };
    if (typeof body.error?.message === 'string') message = body.error.message;
    if (typeof body.error?.code === 'string') code = body.error.code;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  const retryAfterSec = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  if (res.status === 401) return { kind: 'signed_out', message, retryAfterSec };
  if (res.status === 429) {
    const final = res.headers.get('x-should-retry') === 'false' || code === 'daily_quota_exceeded';
    return { kind: final ? 'quota' : 'rate_limited', message, retryAfterSec };
  }
  if (res.status >= 500) return { kind: 'unavailable', message, retryAfterSec };
  return { kind: 'refused', message, retryAfterSec };
}

/** An error the proxy sent inside the stream, after it had started answering. */
const streamErrorOf = (error: StreamError): ChatError => ({
  kind:
    error.code === 'daily_quota_exceeded'
      ? 'quota'
      : error.code === 'rate_limit_exceeded'
        ? 'rate_limited'
        : error.type === 'invalid_request_error'
          ? 'refused'
          : 'unavailable',
  message: error.message,
  retryAfterSec: null,
});

/**
 * A conversation with the assistant: the user's turns and the assistant's answers, which stream in
 * token by token. One request at a time; `stop()` cancels it and keeps what arrived.
 */
export class ChatState {
  turns = $state<ChatTurn[]>([]);
  /** What the user is typing; a request that fails before any answer puts the text back here. */
  draft = $state('');
  streaming = $state(false);
  error = $state<ChatError | null>(null);
  #controller: AbortController | null = null;
  #options: ChatOptions;
  #storageKey: string;

  constructor(options: ChatOptions) {
    this.#options = options;
    this.#storageKey = options.storageScope ? `${STORAGE_KEY}.${options.storageScope}` : STORAGE_KEY;
    this.turns = this.#load();
  }

  get canSend(): boolean {
    return !this.streaming && this.draft.trim() !== '';
  }

  /** Sends the draft and streams the answer into the conversation. */
  async send(): Promise<void> {
    const text = this.draft.trim();
    if (this.streaming || text === '') return;
    this.error = null;
    if (this.#options.online && !this.#options.online()) {
      this.error = { kind: 'offline', message: null, retryAfterSec: null };
      return;
    }
    const history = this.turns
      .filter((t) => t.content !== '')
      .map(({ role, content }) => ({ role, content }));
    const asked: ChatTurn[] = [
      { role: 'user', content: text },
      { role: 'assistant', content: '' },
    ];
    this.turns = [...this.turns, ...asked].slice(-MAX_TURNS);
    this.draft = '';
    this.streaming = true;
    const controller = new AbortController();
    this.#controller = controller;
    try {
      const failure = await this.#request([...history, { role: 'user', content: text }], controller.signal);
      if (failure) this.#fail(failure, text);
      else if (controller.signal.aborted) this.#markStopped(text);
    } finally {
      this.streaming = false;
      this.#controller = null;
      this.#save();
    }
  }

  /** Cancels the answer being streamed; what arrived so far stays. */
  stop(): void {
    this.#controller?.abort();
  }

  /** Starts over. */
  clear(): void {
    this.stop();
    this.turns = [];
    this.error = null;
    this.#save();
  }

  /** Runs one request; resolves to the failure, or null when the answer completed or the user stopped it. */
  async #request(
    messages: Array<{ role: ChatTurn['role']; content: string }>,
    signal: AbortSignal,
  ): Promise<ChatError | null> {
    const doFetch = this.#options.fetch ?? ((input, init) => fetch(input, init));
    const token = this.#options.token();
    if (!token) return { kind: 'signed_out', message: null, retryAfterSec: null };
    let res: Response;
    try {
      res = await doFetch(`${this.#options.baseUrl.replace(/\/+$/, '')}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'text/event-stream',
        },
        body: JSON.stringify({ model: ASSISTANT_MODEL, stream: true, messages }),
        signal,
        credentials: 'omit',
      });
    } catch {
      if (signal.aborted) return null;
      const offline = this.#options.online ? !this.#options.online() : false;
      return { kind: offline ? 'offline' : 'unreachable', message: null, retryAfterSec: null };
    }
    if (!res.ok || !res.body) {
      const error = res.ok
        ? { kind: 'unavailable' as const, message: null, retryAfterSec: null }
        : await errorOf(res);
      if (error.kind === 'signed_out') this.#options.onUnauthorized?.();
      return error;
    }
    return this.#read(res.body, signal);
  }

  async #read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<ChatError | null> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = createSseParser();
    const onAbort = () => void reader.cancel().catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch {
          return signal.aborted ? null : { kind: 'interrupted', message: null, retryAfterSec: null };
        }
        if (signal.aborted) return null;
        const events = chunk.done ? parser.end() : parser.push(decoder.decode(chunk.value, { stream: true }));
        for (const data of events) {
          const read = readCompletionChunk(data);
          if (read.kind === 'delta') this.#append(read.text);
          else if (read.kind === 'error') return streamErrorOf(read.error);
          else if (read.kind === 'done') return null;
        }
        // The stream ended without [DONE]: the connection dropped mid-answer.
        if (chunk.done) return { kind: 'interrupted', message: null, retryAfterSec: null };
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      reader.releaseLock();
    }
  }

  #append(text: string): void {
    const last = this.turns.at(-1);
    if (last?.role === 'assistant') last.content += text;
  }

  /** Stopped before any answer: as if never sent, the question goes back to the draft. */
  #markStopped(text: string): void {
    const last = this.turns.at(-1);
    if (last?.role !== 'assistant') return;
    if (last.content !== '') last.stopped = true;
    else {
      this.turns = this.turns.slice(0, -2);
      if (this.draft === '') this.draft = text;
    }
  }

  /** A failed request: with no answer yet, the question goes back to the draft to send again. */
  #fail(error: ChatError, text: string): void {
    this.error = error;
    const last = this.turns.at(-1);
    if (last?.role === 'assistant' && last.content === '') {
      this.turns = this.turns.slice(0, -2);
      if (this.draft === '') this.draft = text;
    } else if (last?.role === 'assistant') {
      last.stopped = true;
    }
  }

  #load(): ChatTurn[] {
    try {
      const raw = this.#options.storage?.getItem(this.#storageKey);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(parsed) ? parsed.filter(isTurn).slice(-MAX_TURNS) : [];
    } catch {
      return [];
    }
  }

  #save(): void {
    const storage = this.#options.storage;
    if (!storage) return;
    try {
      if (this.turns.length === 0) storage.removeItem(this.#storageKey);
      else storage.setItem(this.#storageKey, JSON.stringify(this.turns));
    } catch {
      // Storage full or unavailable: the conversation lives in memory only.
    }
  }
}
