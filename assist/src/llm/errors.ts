import type { Response } from 'express';

/** The `type` values OpenAI clients know; the client maps the status to its error class, `type` says why. */
export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'rate_limit_exceeded'
  | 'insufficient_quota'
  | 'server_error';

/**
 * Why an assistant request was refused or failed, as the proxy answers it and the bot reads it.
 * `retryAfterSec` becomes `retry-after`; `shouldRetry: false` becomes `x-should-retry: false`, which the
 * official clients obey instead of retrying a 429 or 5xx.
 */
export class AssistantError extends Error {
  readonly status: number;
  readonly code: string;
  readonly type: OpenAiErrorType;
  readonly param: string | null;
  readonly retryAfterSec: number | undefined;
  readonly shouldRetry: boolean | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    opts: {
      type?: OpenAiErrorType;
      param?: string | null;
      retryAfterSec?: number;
      shouldRetry?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'AssistantError';
    this.status = status;
    this.code = code;
    this.type = opts.type ?? defaultType(status);
    this.param = opts.param ?? null;
    this.retryAfterSec = opts.retryAfterSec;
    this.shouldRetry = opts.shouldRetry;
  }

  toBody() {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }

  headers(): Record<string, string> {
    return {
      ...(this.retryAfterSec !== undefined ? { 'retry-after': String(this.retryAfterSec) } : {}),
      ...(this.shouldRetry !== undefined ? { 'x-should-retry': String(this.shouldRetry) } : {}),
    };
  }
}

// OpenAI answers a bad key with `invalid_request_error` too (code `invalid_api_key`); clients key on status.
const defaultType = (status: number): OpenAiErrorType =>
  status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';

export const isAssistantError = (value: unknown): value is AssistantError => value instanceof AssistantError;

/** Anything thrown, as an answer a client may see: our own errors as they are, the rest as a bare 500. */
export function toAssistantError(err: unknown): AssistantError {
  if (isAssistantError(err)) return err;
  return new AssistantError(500, 'internal_error', 'The assistant failed unexpectedly; try again.');
}

export function sendOpenAiError(res: Response, err: AssistantError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(err.status).set(err.headers()).json(err.toBody());
}
