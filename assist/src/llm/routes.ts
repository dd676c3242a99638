import { randomUUID } from 'node:crypto';
import { ASSISTANT_MODEL, type LlmMessage } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import cors from 'cors';
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { z } from 'zod';
import type { AskResult, Assistant } from './ask.ts';
import type { AssistUser, SessionAuth } from './auth.ts';
import { AssistantError, isAssistantError, sendOpenAiError, toAssistantError } from './errors.ts';

/** The server's own cap on completion tokens a client may ask for (the worker applies its own, lower, one). */
const MAX_TOKENS_CAP = 8192;
/**
 * The largest request body read: far more than the conversation a job carries (the proxy trims it to
 * `LLM_CONVERSATION_BUDGET`), and far less than what would let a caller make the proxy parse megabytes.
 */
const BODY_LIMIT = '256kb';
/** When the assistant model "was created", for /v1/models: a fixed date, so answers do not change. */
const MODEL_CREATED = 1_767_225_600;

const SERVER_OWNS_TOOLS =
  'This server owns the system prompt and the tools: it runs its own (your deals, payment instructions, ' +
  'deal states) with your own authorization. Send only user and assistant messages, without tools.';

const contentPartSchema = z.object({ type: z.string(), text: z.string().optional() });
const messageSchema = z.object({
  role: z.string(),
  content: z.union([z.string(), z.array(contentPartSchema)]).nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
  function_call: z.unknown().optional(),
});

/** The Chat Completions parameters the proxy reads; the rest (temperature, top_p, …) are the server's call. */
const chatRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1, 'messages must not be empty'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.number().int().positive().nullish(),
  tools: z.array(z.unknown()).nullish(),
  functions: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  function_call: z.unknown().optional(),
});
type ChatRequest = z.infer<typeof chatRequestSchema>;

const invalid = (code: string, message: string, param: string | null = null) =>
  new AssistantError(400, code, message, { type: 'invalid_request_error', param });

/** The conversation as the worker takes it, or the 400/404 that says what the client must change. */
function toConversation(body: unknown): {
  request: ChatRequest;
  messages: LlmMessage[];
  maxTokens: number | undefined;
} {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.join('.') || null;
    throw invalid(
      'invalid_request',
      body === undefined || body === null || typeof body !== 'object'
        ? 'The body must be a JSON object (Content-Type: application/json).'
        : `Invalid request${param ? ` at ${param}` : ''}: ${issue?.message ?? 'malformed'}`,
      param,
    );
  }
  const request = parsed.data;
  if (request.model !== ASSISTANT_MODEL) {
    throw new AssistantError(
      404,
      'model_not_found',
      `The model '${request.model.slice(0, 100)}' does not exist. This server offers '${ASSISTANT_MODEL}'.`,
      { type: 'invalid_request_error', param: 'model' },
    );
  }
  const toolChoice = request.tool_choice ?? request.function_call;
  if (
    request.tools?.length ||
    request.functions?.length ||
    (toolChoice !== undefined && toolChoice !== 'none')
  ) {
    throw invalid('tools_not_supported', SERVER_OWNS_TOOLS, request.tools?.length ? 'tools' : 'functions');
  }
  if (request.n !== null && request.n !== undefined && request.n > 1) {
    throw invalid('n_not_supported', 'Only one choice per request is supported (n = 1).', 'n');
  }
  const messages = request.messages.map((m, i): LlmMessage => {
    const param = `messages.[${i}]`;
    if (m.role !== 'user' && m.role !== 'assistant') {
      throw invalid(
        'role_not_supported',
        `Messages with role '${m.role.slice(0, 40)}' are not accepted. ${SERVER_OWNS_TOOLS}`,
        `${param}.role`,
      );
    }
    if (m.tool_calls?.length || m.function_call) {
      throw invalid('tools_not_supported', SERVER_OWNS_TOOLS, `${param}.tool_calls`);
    }
    let content: string;
    if (typeof m.content === 'string') content = m.content;
    else if (Array.isArray(m.content)) {
      const other = m.content.find((part) => part.type !== 'text' || part.text === undefined);
      if (other) {
        throw invalid(
          'content_not_supported',
          `Only text content is accepted, not '${other.type.slice(0, 40)}'.`,
          `${param}.content`,
        );
      }
      content = m.content.map((part) => part.text ?? '').join('');
    } else if (m.role === 'assistant') content = '';
    else throw invalid('invalid_request', 'A user message needs content.', `${param}.content`);
    return { role: m.role, content };
  });
  const asked = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return { request, messages, maxTokens: asked === undefined ? undefined : Math.min(asked, MAX_TOKENS_CAP) };
}

const completionUsage = (r: AskResult) => ({
  prompt_tokens: r.usage.promptTokens,
  completion_tokens: r.usage.completionTokens,
  total_tokens: r.usage.promptTokens + r.usage.completionTokens,
});

/** Tells a client (and the app) whether the built-in responder or an upstream model answered. */
const fingerprint = (r: AskResult) => (r.basic ? 'amanat-basic' : 'amanat-model');

/** The client's address chain, so the API's per-IP limits see the client rather than this service. */
const forwardedFor = (req: Request): string | undefined => {
  const prior = req.headers['x-forwarded-for'];
  return [typeof prior === 'string' ? prior : undefined, req.socket.remoteAddress].filter(Boolean).join(', ');
};

/**
 * The OpenAI-compatible surface: POST /v1/chat/completions (JSON or SSE) and GET /v1/models. A caller
 * signs in with their Amanat session as the API key; the server owns the prompt, the tools and the
 * upstream, so a client sends only the conversation.
 */
export function llmRoutes(deps: {
  auth: SessionAuth;
  assistant: Assistant;
  logger: Logger;
  appOrigin: string;
  /** How often an idle stream gets an SSE comment, so proxies and clients keep it open. */
  keepAliveMs?: number;
}): Router {
  const { auth, assistant, logger } = deps;
  const keepAliveMs = deps.keepAliveMs ?? 5000;
  const router = express.Router();

  router.use(
    '/v1',
    cors({
      // A list, not a string: a string is sent to every origin; a list is echoed only to a match. The
      // allowed request headers are echoed from the preflight (the official client sends a changing set
      // of x-stainless-* headers); only the app's origin gets that answer.
      origin: [deps.appOrigin],
      exposedHeaders: ['retry-after', 'x-should-retry', 'x-request-id'],
      maxAge: 600,
    }),
  );

  const models = [{ id: ASSISTANT_MODEL, object: 'model', created: MODEL_CREATED, owned_by: 'amanat' }];
  router.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: models });
  });
  router.get('/v1/models/:id', (req, res) => {
    const model = models.find((m) => m.id === req.params.id);
    if (model) res.json(model);
    else
      sendOpenAiError(
        res,
        new AssistantError(
          404,
          'model_not_found',
          `The model '${String(req.params.id).slice(0, 100)}' does not exist.`,
          {
            param: 'model',
          },
        ),
      );
  });

  // Who asks is known before the body is read: an anonymous caller cannot make the proxy parse a body.
  const signIn: RequestHandler = async (req, res, next) => {
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    res.locals.startedAt = Date.now();
    res.setHeader('x-request-id', requestId);
    try {
      res.locals.user = await auth.authenticate(req.headers.authorization, forwardedFor(req));
      next();
    } catch (err) {
      const error = toAssistantError(err);
      if (!isAssistantError(err)) logger.error({ err, requestId }, 'chat completion sign-in failed');
      logger.info(
        { requestId, status: error.status, code: error.code, ms: Date.now() - res.locals.startedAt },
        'chat completion',
      );
      sendOpenAiError(res, error);
    }
  };

  router.post('/v1/chat/completions', signIn, express.json({ limit: BODY_LIMIT }), async (req, res) => {
    const startedAt = res.locals.startedAt as number;
    const requestId = res.locals.requestId as string;
    const user = res.locals.user as AssistUser;
    const userId = user.id;
    let stream = false;
    const log = (status: number, extra: Record<string, unknown> = {}) =>
      logger.info(
        { requestId, userId, stream, status, ms: Date.now() - startedAt, ...extra },
        'chat completion',
      );

    // The client going away (closed tab, aborted fetch) stops the wait and withdraws a job not yet taken.
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });

    try {
      const { request, messages, maxTokens } = toConversation(req.body);
      stream = request.stream === true;
      const base = {
        userId: user.id,
        messages,
        surface: 'app' as const,
        requestId,
        signal: abort.signal,
        ...(maxTokens !== undefined ? { maxTokens } : {}),
      };
      const id = `chatcmpl-${requestId}`;
      const created = Math.floor(startedAt / 1000);

      if (!stream) {
        const result = await assistant.ask(base);
        res.json({
          id,
          object: 'chat.completion',
          created,
          model: ASSISTANT_MODEL,
          system_fingerprint: fingerprint(result),
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: result.content, refusal: null },
              logprobs: null,
              finish_reason: 'stop',
            },
          ],
          usage: completionUsage(result),
        });
        log(200, { basic: result.basic, tokens: completionUsage(result).total_tokens });
        return;
      }

      await streamAnswer({
        res,
        assistant,
        ask: base,
        id,
        created,
        keepAliveMs,
        includeUsage: request.stream_options?.include_usage === true,
        log,
        logger,
        requestId,
      });
    } catch (err) {
      const error = toAssistantError(err);
      if (!isAssistantError(err)) logger.error({ err, requestId }, 'chat completion failed');
      if (error.code === 'request_aborted' || res.destroyed) {
        log(499);
        return;
      }
      log(error.status, { code: error.code });
      sendOpenAiError(res, error);
    }
  });

  router.use('/v1', (req, res) => {
    sendOpenAiError(
      res,
      new AssistantError(
        404,
        'unknown_url',
        `Unknown request URL: ${req.method} ${req.originalUrl.split('?')[0]?.slice(0, 200)}.`,
      ),
    );
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    // Body-parser errors carry their status: a malformed or oversized body is the client's mistake.
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status === 400) sendOpenAiError(res, invalid('invalid_json', 'The body is not valid JSON.'));
    else if (status === 413)
      sendOpenAiError(res, new AssistantError(413, 'request_too_large', 'The request body is too large.'));
    else if (status >= 400 && status < 500)
      sendOpenAiError(res, new AssistantError(status, 'invalid_request', 'The request cannot be read.'));
    else {
      logger.error({ err }, 'llm route failed');
      sendOpenAiError(res, toAssistantError(err));
    }
  };
  router.use('/v1', onError);
  return router;
}

/**
 * Streams one answer as Chat Completions chunks. Nothing is sent before the request is admitted and
 * queued, so a refusal (429, 503) is still an HTTP status; after that, a failure is an `error` event the
 * official clients raise as an APIError. While the job waits for a worker, SSE comments keep it open.
 */
async function streamAnswer(o: {
  res: Response;
  assistant: Assistant;
  ask: Parameters<Assistant['ask']>[0];
  id: string;
  created: number;
  keepAliveMs: number;
  includeUsage: boolean;
  log: (status: number, extra?: Record<string, unknown>) => void;
  logger: Logger;
  requestId: string;
}): Promise<void> {
  const { res } = o;
  let started = false;
  let lastWrite = Date.now();
  let streamed = '';
  let keepAlive: NodeJS.Timeout | undefined;
  const write = (text: string) => {
    if (res.destroyed || res.writableEnded) return;
    res.write(text);
    lastWrite = Date.now();
  };
  const chunk = (
    delta: Record<string, unknown>,
    finishReason: string | null,
    extra: Record<string, unknown> = {},
  ) =>
    `data: ${JSON.stringify({
      id: o.id,
      object: 'chat.completion.chunk',
      created: o.created,
      model: ASSISTANT_MODEL,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(o.includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`;

  // Starts the event stream once: when the job is queued, or at the first delta if a fast worker's delta
  // arrives before the enqueue has returned.
  const start = () => {
    if (started) return;
    started = true;
    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx and some other proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    write(chunk({ role: 'assistant', content: '' }, null));
    keepAlive = setInterval(() => {
      if (Date.now() - lastWrite >= o.keepAliveMs / 2) write(': keep-alive\n\n');
    }, o.keepAliveMs);
  };

  try {
    const result = await o.assistant.ask({
      ...o.ask,
      onStart: start,
      onDelta: (text) => {
        if (!text) return;
        start();
        streamed += text;
        write(chunk({ content: text }, null));
      },
    });
    // `done` carries the whole answer: whatever the deltas did not deliver (the built-in responder may
    // send none) goes out now, so the chunks always add up to the answer.
    if (result.content.startsWith(streamed)) {
      const rest = result.content.slice(streamed.length);
      if (rest) write(chunk({ content: rest }, null));
    }
    write(chunk({}, 'stop', { system_fingerprint: fingerprint(result) }));
    if (o.includeUsage) {
      write(
        `data: ${JSON.stringify({
          id: o.id,
          object: 'chat.completion.chunk',
          created: o.created,
          model: ASSISTANT_MODEL,
          system_fingerprint: fingerprint(result),
          choices: [],
          usage: completionUsage(result),
        })}\n\n`,
      );
    }
    write('data: [DONE]\n\n');
    if (!res.destroyed) res.end();
    o.log(200, { basic: result.basic, tokens: completionUsage(result).total_tokens });
  } catch (err) {
    if (!res.headersSent) throw err;
    if (!isAssistantError(err))
      o.logger.error({ err, requestId: o.requestId }, 'chat completion stream failed');
    const error = toAssistantError(err);
    if (error.code !== 'request_aborted' && !res.destroyed) {
      write(`data: ${JSON.stringify(error.toBody())}\n\n`);
      res.end();
    }
    o.log(res.destroyed ? 499 : error.status, { code: error.code });
  } finally {
    clearInterval(keepAlive);
  }
}
