import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { z } from 'zod';
import type { SessionUser } from '../auth/sessions.ts';
import { ApiError, sendProblem, toApiError } from './problem.ts';

/**
 * A route is declared once, with its schemas, and that one declaration both validates requests and
 * writes the OpenAPI document, so the reference can never drift from what the server accepts.
 */
export type AuthMode = 'public' | 'user' | 'service';

/** Who is calling: the signed-in user and the staff roles their Telegram id carries. */
export interface Caller {
  user: SessionUser;
  operator: boolean;
  arbitrator: boolean;
  /** The session's id (a hash of its token), or null when the request carried Telegram init data. */
  sessionId: string | null;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<A extends AuthMode, P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  caller: A extends 'user' ? Caller : null;
  req: Request;
  res: Response;
}

export interface RouteDef<
  A extends AuthMode = AuthMode,
  P extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
  B extends Schema | undefined = Schema | undefined,
> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express-style path, e.g. /api/deals/:id. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: A;
  /** Answered only to operators (403 otherwise); implies auth 'user'. */
  operatorOnly?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The success status and the schema of its body, for the reference. */
  status?: number;
  response: Schema;
  /** Other success answers the route may give (for example 202 while a login is pending). */
  otherResponses?: Record<number, { description: string; schema: Schema }>;
  /** Error statuses worth documenting beyond the ones every route can give. */
  errors?: number[];
  handler: (ctx: RouteContext<A, P, Q, B>) => Promise<unknown>;
}

/** Keeps a route's types while letting the registry hold routes of every shape. */
export const defineRoute = <
  A extends AuthMode,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(
  def: RouteDef<A, P, Q, B>,
): RouteDef => def as unknown as RouteDef;

/** What the route pipeline needs from the rest of the service. */
export interface RouteDeps {
  /** Authenticates a signed-in route's caller and counts the request against the IP and user limits. */
  admit: (req: Request, res: Response) => Promise<Caller>;
  authenticateService: (req: Request) => void;
  /** Counts a public or service route's request against its IP. */
  limitIp: (req: Request, res: Response) => Promise<void>;
  idempotency: IdempotencyGate;
  /** Logs an error that became a 5xx, with the request's id (through the redacting logger). */
  logUnexpected: (err: unknown, req: Request) => void;
}

export interface IdempotencyGate {
  /** Returns a stored answer to replay, or a ticket to record this request's answer with. */
  begin(
    caller: Caller,
    scope: string,
    key: string,
    body: unknown,
  ): Promise<{ replay: { status: number; body: unknown } } | { ticket: IdempotencyTicket }>;
}
export interface IdempotencyTicket {
  finish(status: number, body: unknown): Promise<void>;
  abandon(): Promise<void>;
}

export const MAX_BODY_BYTES = 64 * 1024;

const jsonBody = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true });

/** Bodies are JSON only: anything else is refused before it is read. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) {
    req.body = undefined;
    return next();
  }
  if (!req.is('application/json')) {
    return next(new ApiError(415, 'unsupported_media_type', 'Send the body as application/json'));
  }
  jsonBody(req, _res, next);
};

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function parsePart<S extends Schema | undefined>(schema: S, value: unknown, where: string): Out<S> {
  if (!schema) return undefined as Out<S>;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as Out<S>;
  throw new ApiError(400, 'validation_failed', `The ${where} is invalid`, {
    extra: {
      errors: parsed.error.issues.slice(0, 20).map((issue) => ({
        in: where,
        path: issue.path.map(String).join('.'),
        message: issue.message,
      })),
    },
  });
}

/**
 * The route a key is scoped to: the declared path with its validated parameters, not the path as
 * spelled, which Express matches case-insensitively and with or without a trailing slash.
 */
const idempotencyScope = (route: RouteDef, params: unknown): string =>
  `${route.method} ${route.path.replace(/:(\w+)/g, (_, name: string) =>
    encodeURIComponent(String((params as Record<string, unknown> | undefined)?.[name] ?? '')),
  )}`;

/** A success body already serialized (for answers reused across requests); sent as is. */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

function send(res: Response, status: number, body: unknown): void {
  if (status === 204) res.status(204).end();
  else if (body instanceof JsonText) res.status(status).type('application/json').send(body.text);
  else if (status >= 400) res.status(status).type('application/problem+json').send(JSON.stringify(body));
  else res.status(status).json(body);
}

/** Mounts routes on a router: body parsing, auth, per-user limits, validation, idempotency, handler. */
export function mountRoutes(router: Router, routes: readonly RouteDef[], deps: RouteDeps): void {
  for (const route of routes) {
    // Who may call comes first, before a body is read: a refused or over-limit request costs little.
    const admission: RequestHandler = async (req, res, next) => {
      if (route.auth === 'user') {
        const caller = await deps.admit(req, res);
        if (route.operatorOnly && !caller.operator) {
          throw new ApiError(403, 'operator_only', 'Only operators may do this');
        }
        res.locals.caller = caller;
      } else {
        await deps.limitIp(req, res);
        if (route.auth === 'service') deps.authenticateService(req);
      }
      next();
    };
    const handlers: RequestHandler[] = [admission];
    if (route.body) handlers.push(requireJson);
    handlers.push(async (req, res) => {
      let ticket: IdempotencyTicket | null = null;
      try {
        const caller = (res.locals.caller as Caller | undefined) ?? null;
        const params = parsePart(route.params, req.params, 'path');
        const query = parsePart(route.query, req.query, 'query');
        const body = parsePart(route.body, route.body ? (req.body ?? {}) : undefined, 'body');

        const key = req.get('idempotency-key');
        if (route.method === 'post' && key !== undefined && caller) {
          if (!IDEMPOTENCY_KEY.test(key)) {
            throw new ApiError(
              400,
              'idempotency_key_invalid',
              'Idempotency-Key must be 1-255 visible ASCII characters',
            );
          }
          const started = await deps.idempotency.begin(
            caller,
            idempotencyScope(route, params),
            key,
            req.body ?? null,
          );
          if ('replay' in started) {
            res.setHeader('Idempotent-Replayed', 'true');
            return send(res, started.replay.status, started.replay.body);
          }
          ticket = started.ticket;
        }

        const result = await route.handler({ params, query, body, caller, req, res } as never);
        const status = res.statusCode !== 200 ? res.statusCode : (route.status ?? 200);
        if (ticket) await ticket.finish(status, result ?? null);
        send(res, status, result);
      } catch (err) {
        const apiErr = toApiError(err);
        if (ticket) {
          // A deterministic rejection is the answer to this key; a race or an outage is not, and the
          // client may try again with the same key.
          const retryable =
            apiErr.status >= 500 || apiErr.status === 429 || apiErr.code === 'version_conflict';
          await (retryable ? ticket.abandon() : ticket.finish(apiErr.status, apiErr.toProblem())).catch(
            () => {},
          );
        }
        if (apiErr.status >= 500) deps.logUnexpected(err, req);
        sendProblem(res, apiErr);
      }
    });
    router[route.method](route.path, ...handlers);
  }
}
