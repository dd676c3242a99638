/** An answer from the API that says no: its status and stable `code` (problem+json), for the user. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: ReadonlyArray<{ in: string; path: string; message: string }>;
  readonly retryAfterSec: number | null;
  constructor(
    status: number,
    code: string,
    message: string,
    fields: ReadonlyArray<{ in: string; path: string; message: string }> = [],
    retryAfterSec: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfterSec = retryAfterSec;
  }
}

/** The request never got an answer: no network, or the server could not be reached. */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super('The network is unavailable', { cause });
    this.name = 'NetworkError';
  }
}

export const isApiError = (err: unknown, code?: string): err is ApiError =>
  err instanceof ApiError && (code === undefined || err.code === code);
export const isNetworkError = (err: unknown): err is NetworkError => err instanceof NetworkError;
