import type { LlmUsage } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

/**
 * The chain of OpenAI-compatible upstreams. A call tries the first provider, retries it on 429, 5xx and
 * network failures with backoff (honouring Retry-After), then falls back to the next. Once any text of
 * the call has been handed on, nothing is retried: a retry would stream the same words twice.
 */

export interface LlmProvider {
  name: string;
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
}

export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
export type FunctionTool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;

export interface ChatCall {
  messages: ChatMessage[];
  tools?: FunctionTool[];
  /** 'none' asks for a text answer while the tools stay declared (the conversation refers to them). */
  toolChoice?: 'auto' | 'none';
  maxTokens: number;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  /** As the upstream reported it; null when it did not. */
  usage: LlmUsage | null;
  provider: string;
}

/** Every provider failed (or one failed after text was handed on, when `streamed`). Never holds a key. */
export class UpstreamError extends Error {
  readonly status: number;
  readonly streamed: boolean;
  constructor(message: string, opts: { status: number; streamed: boolean }) {
    super(message);
    this.name = 'UpstreamError';
    this.status = opts.status;
    this.streamed = opts.streamed;
  }
}

export interface ProviderChainOptions {
  logger: Logger;
  /** Longest wait for the response to start and between two streamed chunks, per request. */
  timeoutMs?: number;
  /** Retries of one provider before falling back to the next. */
  retries?: number;
  /** First backoff; it doubles with each retry (with jitter). */
  backoffMs?: number;
  /** A Retry-After longer than this is not waited out: the next provider is tried instead. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface Failure {
  status: number;
  retryable: boolean;
  retryAfterMs: number | undefined;
  message: string;
}

/** Errors thrown by whoever receives the text: they are ours, not the upstream's, and are never retried. */
class SinkError extends Error {
  readonly inner: unknown;
  constructor(inner: unknown) {
    super('the text sink failed');
    this.inner = inner;
  }
}

/** Anything shaped like an API key (OpenAI's sk-…, bearer tokens) that an upstream may echo back. */
const KEY_LIKE = /\b(sk|rk|pk)-[A-Za-z0-9_*.-]{8,}|\bBearer\s+\S+/g;

const RETRYABLE = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** Retry-After in ms from an upstream's headers (delta seconds, an HTTP date, or OpenAI's retry-after-ms). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class ProviderChain {
  readonly providers: readonly LlmProvider[];
  private readonly clients: Map<string, OpenAI>;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly secrets: string[];

  constructor(providers: readonly LlmProvider[], opts: ProviderChainOptions) {
    this.providers = providers;
    this.logger = opts.logger;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 2;
    this.backoffMs = opts.backoffMs ?? 500;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 10_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.secrets = providers.flatMap((p) => (p.apiKey ? [p.apiKey] : []));
    this.clients = new Map(
      providers.map((p) => [
        p.name,
        new OpenAI({
          baseURL: p.baseUrl,
          // The client insists on a key; a keyless upstream (a local server) gets no Authorization header.
          apiKey: p.apiKey ?? 'no-key',
          ...(p.apiKey ? {} : { defaultHeaders: { Authorization: null } }),
          // Nothing is read from OPENAI_* variables: each provider is exactly what the operator configured.
          organization: null,
          project: null,
          timeout: this.timeoutMs,
          maxRetries: 0,
          logLevel: 'off',
        }),
      ]),
    );
  }

  get size(): number {
    return this.providers.length;
  }

  /** Removes every configured key from a text that may have come from an upstream or a network error. */
  redact(text: string): string {
    const known = this.secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
    return known.replace(KEY_LIKE, '[redacted]');
  }

  /**
   * One model call along the chain. `onText` receives the answer's text as it streams; after its first
   * call no other attempt is made, and a failure is an `UpstreamError` with `streamed`.
   */
  async complete(call: ChatCall, onText: (text: string) => Promise<void> | void): Promise<ChatResult> {
    let streamed = false;
    const emit = async (text: string) => {
      streamed = true;
      try {
        await onText(text);
      } catch (err) {
        throw new SinkError(err);
      }
    };
    let last: Failure | null = null;
    for (const provider of this.providers) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.once(provider, call, emit);
        } catch (err) {
          if (err instanceof SinkError) throw err.inner;
          const failure = this.describe(err);
          last = failure;
          this.logger.warn(
            { provider: provider.name, attempt, status: failure.status, reason: failure.message, streamed },
            'LLM upstream call failed',
          );
          if (streamed) {
            throw new UpstreamError(
              `provider ${provider.name} failed during the answer: ${failure.message}`,
              {
                status: failure.status === 504 ? 504 : 502,
                streamed: true,
              },
            );
          }
          if (!failure.retryable || attempt >= this.retries) break;
          const wait = failure.retryAfterMs ?? this.backoff(attempt);
          if (wait > this.maxRetryAfterMs) break;
          await this.sleep(wait);
        }
      }
    }
    throw new UpstreamError(`every LLM provider failed; last: ${last?.message ?? 'none configured'}`, {
      status: last?.status === 504 ? 504 : 502,
      streamed: false,
    });
  }

  private backoff(attempt: number): number {
    const base = this.backoffMs * 2 ** attempt;
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  private describe(err: unknown): Failure {
    if (err instanceof APIUserAbortError || err instanceof APIConnectionTimeoutError) {
      return { status: 504, retryable: true, retryAfterMs: undefined, message: 'timed out' };
    }
    if (err instanceof APIError) {
      if (err.status === undefined) {
        // A connection error: the request may never have reached the upstream.
        return { status: 502, retryable: true, retryAfterMs: undefined, message: this.redact(err.message) };
      }
      // An upstream's answer to a bad key may quote part of it: for 401 and 403 only the status is kept.
      const detail = err.status === 401 || err.status === 403 ? '' : `: ${this.redact(err.message)}`;
      return {
        status: err.status,
        retryable: RETRYABLE(err.status),
        retryAfterMs: retryAfterMs(err.headers),
        message: `HTTP ${err.status}${detail}`,
      };
    }
    const message = err instanceof Error ? err.message : String(err);
    return { status: 502, retryable: true, retryAfterMs: undefined, message: this.redact(message) };
  }

  private async once(
    provider: LlmProvider,
    call: ChatCall,
    emit: (text: string) => Promise<void>,
  ): Promise<ChatResult> {
    const client = this.clients.get(provider.name) as OpenAI;
    const controller = new AbortController();
    // Idle timeout: the client's own timeout ends when the response starts, and a stream can stall after.
    let timer = setTimeout(() => controller.abort(), this.timeoutMs);
    const stillAlive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), this.timeoutMs);
    };
    try {
      const stream = await client.chat.completions.create(
        {
          model: provider.model,
          messages: call.messages,
          ...(call.tools && call.tools.length > 0
            ? { tools: call.tools, tool_choice: call.toolChoice ?? 'auto' }
            : {}),
          max_tokens: call.maxTokens,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
      let text = '';
      let usage: LlmUsage | null = null;
      const calls = new Map<number, ToolCall>();
      for await (const chunk of stream) {
        stillAlive();
        if (chunk.usage) {
          usage = {
            promptTokens: chunk.usage.prompt_tokens ?? 0,
            completionTokens: chunk.usage.completion_tokens ?? 0,
          };
        }
        const delta = chunk.choices[0]?.delta;
        if (!delta) continue;
        if (typeof delta.content === 'string' && delta.content !== '') {
          text += delta.content;
          await emit(delta.content);
        }
        for (const part of delta.tool_calls ?? []) {
          const current = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
          if (part.id) current.id = part.id;
          // OpenAI sends the name once, in the call's first part; some servers repeat it in every part.
          if (part.function?.name && !current.name) current.name = part.function.name;
          if (part.function?.arguments) current.arguments += part.function.arguments;
          calls.set(part.index, current);
        }
      }
      const toolCalls = [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, c]) => ({ ...c, id: c.id || `call_${index}` }));
      return { text, toolCalls, usage, provider: provider.name };
    } catch (err) {
      // Our idle timer aborted the request: report it as the timeout it is, not as a cancelled call.
      if (controller.signal.aborted && !(err instanceof SinkError)) throw new APIConnectionTimeoutError();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
