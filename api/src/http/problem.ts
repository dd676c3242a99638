import { DEAL_ERROR_KIND, isDomainError } from '@amanat/core';
import type { Response } from 'express';

/**
 * RFC 9457 problem details: the one error shape every route answers with. `code` is stable and
 * machine-readable; `title` and `detail` are for people and may change.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  [extension: string]: unknown;
}

export const PROBLEM_TYPE_BASE = 'https://amanat.app/problems/';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    code: string,
    detail: string,
    opts: { title?: string; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.code = code;
    this.title = opts.title ?? TITLES[status] ?? 'Request failed';
    this.extra = opts.extra;
    this.headers = opts.headers;
  }

  toProblem(): Problem {
    return {
      type: `${PROBLEM_TYPE_BASE}${this.code}`,
      title: this.title,
      status: this.status,
      code: this.code,
      detail: this.message,
      ...this.extra,
    };
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Unprocessable request',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** Domain rejections outside the deal state machine, by how the API answers them. */
const DOMAIN_STATUS: Record<string, number> = {
  deal_not_found: 404,
  version_conflict: 409,
  payout_address_missing: 409,
};
const KIND_STATUS = { forbidden: 403, conflict: 409, invalid: 422 } as const;

/**
 * Domain errors that mean something is wrong on our side, not in the request: answered 500 and logged
 * (an exhausted deposit key, a malformed registry or key), never passed off as the caller's mistake.
 */
const INTERNAL_DOMAIN_CODES = new Set([
  'activity_head_invalid',
  'checkpoint_key_invalid',
  'config_invalid',
  'deposit_derivation_failed',
  'deposit_index_exhausted',
  'fee_terms_invalid',
  'job_id_invalid',
  'json_unsupported_value',
  'registry_config_invalid',
]);

/** PostgreSQL or Redis is unreachable: the request may work again shortly, so 503 with Retry-After. */
function isBackendUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P03',
      '08001',
      '08003',
      '08006',
    ].includes(code) ||
    e.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Connection terminated|timeout exceeded when trying to connect/.test(
      message,
    )
  );
}

/** Errors thrown by Express's body parser carry a `type`; each gets its own stable code. */
const BODY_PARSER_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'body_malformed', 'The body is not valid JSON'],
  'entity.too.large': [413, 'body_too_large', 'The body is larger than 64 KB'],
  'encoding.unsupported': [415, 'encoding_unsupported', 'The content encoding is not supported'],
  'charset.unsupported': [415, 'charset_unsupported', 'Only UTF-8 JSON bodies are accepted'],
  'request.aborted': [400, 'request_aborted', 'The request was aborted'],
  'request.size.invalid': [400, 'body_malformed', 'The body length does not match Content-Length'],
  'stream.encoding.set': [400, 'body_malformed', 'The body could not be read'],
  'parameters.too.many': [413, 'body_too_large', 'Too many parameters'],
};

/**
 * Maps anything a handler can throw to an ApiError. Domain rejections become 4xx by their code; only
 * an unexpected error becomes a 500, and its message never leaves the process.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isDomainError(err) && !INTERNAL_DOMAIN_CODES.has(err.code)) {
    const kind = DEAL_ERROR_KIND[err.code as keyof typeof DEAL_ERROR_KIND];
    const status = kind ? KIND_STATUS[kind] : (DOMAIN_STATUS[err.code] ?? 422);
    return new ApiError(
      status,
      err.code,
      err.message,
      err.details ? { extra: { details: err.details } } : {},
    );
  }
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) {
    const [status, code, detail] = BODY_PARSER_ERRORS[type];
    return new ApiError(status, code, detail);
  }
  // URIError from a malformed percent-encoding in the path.
  if (err instanceof URIError) return new ApiError(400, 'path_malformed', 'The request path is malformed');
  // A client error the HTTP layer raised without a `type`: the body parser wraps a decompression failure
  // (a body that does not match its Content-Encoding) this way.
  const status = (err as { status?: unknown; expose?: unknown } | null)?.status;
  if (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    (err as { expose?: unknown }).expose === true
  ) {
    return status === 400
      ? new ApiError(
          400,
          'body_malformed',
          'The body could not be read; check that it matches its Content-Encoding',
        )
      : new ApiError(status, 'request_invalid', 'The request could not be processed');
  }
  if (isBackendUnavailable(err)) {
    return new ApiError(503, 'service_unavailable', 'A backing service is unavailable; try again shortly', {
      headers: { 'Retry-After': '5' },
    });
  }
  return new ApiError(500, 'internal', 'Something went wrong on our side; it has been logged');
}

export function sendProblem(res: Response, err: ApiError): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  res.status(err.status).type('application/problem+json').send(JSON.stringify(err.toProblem()));
}
