// An OpenAI-compatible upstream for tests and benchmarks: POST /v1/chat/completions (JSON and SSE
// streaming, tool calls, usage) and GET /v1/models, speaking the wire format of the Chat Completions API
// so the real `openai` client runs against it. What it answers is scripted per test; it fails on demand.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A chat message as the upstream receives it (OpenAI wire format). */
export interface WireMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface UpstreamRequest {
  model: string;
  messages: WireMessage[];
  stream?: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: tools are passed through as the client sent them
  tools?: any[];
  max_tokens?: number;
  max_completion_tokens?: number;
  // biome-ignore lint/suspicious/noExplicitAny: any other OpenAI parameter
  [key: string]: any;
}

export type UpstreamReply =
  | { text: string }
  | { toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> }
  | { fail: { status: number; message: string; type?: string; retryAfterSec?: number } };

export type Responder = (req: UpstreamRequest, n: number) => UpstreamReply | Promise<UpstreamReply>;

export interface LlmDouble {
  /** Base URL including /v1, as an OpenAI client's baseURL or an LLM_PROVIDERS entry's baseUrl. */
  baseUrl: string;
  /** The API key it expects in `Authorization: Bearer`; other keys get 401. */
  apiKey: string;
  /** Every chat request received, with its Authorization header. */
  requests: Array<{ body: UpstreamRequest; authorization: string | undefined }>;
  /** Sets how it answers; the default echoes the last user message. */
  respond(responder: Responder): void;
  /** The next `times` requests fail with this status before the responder runs. */
  failNext(status: number, times?: number, retryAfterSec?: number): void;
  /** Streams text in chunks of this many characters, with this pause between chunks. */
  setStreaming(opts: { chunkChars?: number; chunkDelayMs?: number }): void;
  close(): Promise<void>;
}

/** The last user message's text, for responders. */
export const lastUserText = (req: UpstreamRequest): string =>
  [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';

/** The results of tool calls the client sent back, newest last. */
export const toolResults = (req: UpstreamRequest): WireMessage[] =>
  req.messages.filter((m) => m.role === 'tool');

export const echo: Responder = (req) => ({ text: `You said: ${lastUserText(req)}` });

/** Rough token count (about four characters a token), enough for quotas under test. */
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startLlmDouble(opts: { apiKey?: string; model?: string } = {}): Promise<LlmDouble> {
  const apiKey = opts.apiKey ?? 'sk-test-upstream-key-0123456789';
  const model = opts.model ?? 'double-1';
  const requests: LlmDouble['requests'] = [];
  let responder: Responder = echo;
  let failures: { status: number; times: number; retryAfterSec?: number } | null = null;
  let chunkChars = 8;
  let chunkDelayMs = 0;
  let served = 0;
  let nextId = 1;

  const sendError = (
    res: ServerResponse,
    status: number,
    message: string,
    type?: string,
    retryAfterSec?: number,
  ) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(retryAfterSec !== undefined ? { 'retry-after': String(retryAfterSec) } : {}),
    });
    res.end(
      JSON.stringify({
        error: {
          message,
          type: type ?? (status === 429 ? 'rate_limit_exceeded' : 'server_error'),
          code: null,
        },
      }),
    );
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://double');
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', owned_by: 'double' }] }));
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return sendError(res, 404, `Unknown route ${req.method} ${url.pathname}`, 'invalid_request_error');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: UpstreamRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendError(res, 400, 'Invalid JSON body', 'invalid_request_error');
    }
    requests.push({ body, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided', 'invalid_request_error');
    }
    if (failures && failures.times > 0) {
      failures.times -= 1;
      const { status, retryAfterSec } = failures;
      if (failures.times === 0) failures = null;
      return sendError(res, status, `Scripted failure ${status}`, undefined, retryAfterSec);
    }
    const reply = await responder(body, served++);
    if ('fail' in reply) {
      return sendError(res, reply.fail.status, reply.fail.message, reply.fail.type, reply.fail.retryAfterSec);
    }
    const id = `chatcmpl-double-${nextId++}`;
    const created = Math.floor(Date.now() / 1000);
    const promptTokens = tokens(body.messages.map((m) => m.content ?? '').join(' '));
    const toolCalls =
      'toolCalls' in reply
        ? reply.toolCalls.map((c, i) => ({
            id: `call_${nextId}_${i}`,
            type: 'function' as const,
            function: { name: c.name, arguments: JSON.stringify(c.arguments) },
          }))
        : undefined;
    const text = 'text' in reply ? reply.text : '';
    const completionTokens = toolCalls ? 10 * toolCalls.length : tokens(text);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const finish = toolCalls ? 'tool_calls' : 'stop';

    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: toolCalls ? null : text,
                ...(toolCalls ? { tool_calls: toolCalls } : {}),
              },
              finish_reason: finish,
            },
          ],
          usage,
        }),
      );
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (delta: Record<string, unknown>, finishReason: string | null) =>
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`,
      );
    send({ role: 'assistant', content: '' }, null);
    if (toolCalls) {
      // Tool calls stream as a head (id, name) and then the arguments, as OpenAI sends them.
      toolCalls.forEach((c, index) => {
        send(
          {
            tool_calls: [
              { index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } },
            ],
          },
          null,
        );
        send({ tool_calls: [{ index, function: { arguments: c.function.arguments } }] }, null);
      });
    } else {
      for (let i = 0; i < text.length; i += chunkChars) {
        if (chunkDelayMs > 0) await new Promise((r) => setTimeout(r, chunkDelayMs));
        if (res.destroyed) return;
        send({ content: text.slice(i, i + chunkChars) }, null);
      }
    }
    send({}, finish);
    if (body.stream_options?.include_usage) {
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    respond(r) {
      responder = r;
    },
    failNext(status, times = 1, retryAfterSec) {
      failures = { status, times, ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) };
    },
    setStreaming(o) {
      chunkChars = o.chunkChars ?? chunkChars;
      chunkDelayMs = o.chunkDelayMs ?? chunkDelayMs;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
