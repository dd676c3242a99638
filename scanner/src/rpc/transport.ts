// One viem client per chain over every configured endpoint: batched, ranked, with fallback and retries,
// each endpoint checked to be on the expected chain before it is trusted, and every request counted.
import {
  createPublicClient,
  fallback,
  http,
  ResponseBodyTooLargeError,
  type Transport,
  shouldThrow as viemShouldThrow,
} from 'viem';
import type { RpcLogger } from './types.ts';

export interface RpcCounters {
  rpcCalls: number;
  httpRequests: number;
}

export interface RpcClientOptions {
  chainId: number;
  urls: readonly string[];
  timeoutMs: number;
  maxBatch: number;
  /** Whole-request retries after every endpoint failed (viem's backoff between them). */
  retryCount: number;
  /** How often the endpoints are pinged to re-rank them. */
  rankIntervalMs: number;
  logger: RpcLogger | undefined;
}

/** An endpoint answering for another chain: never used, since a deposit there would be counted here. */
export class WrongChainError extends Error {
  constructor(url: string, expected: number, actual: number) {
    super(
      `RPC endpoint ${redactUrl(url)} is on chain ${actual}, expected chain ${expected}; it is not used.`,
    );
    this.name = 'WrongChainError';
  }
}

/** Endpoint URLs often carry an API key in the path or query: keep only scheme, host and port in logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}

function countCalls(body: RequestInit['body']): number {
  if (typeof body !== 'string') return 1;
  if (!body.startsWith('[')) return 1;
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed.length : 1;
  } catch {
    return 1;
  }
}

export function createRpcClient(opts: RpcClientOptions) {
  const counters: RpcCounters = { rpcCalls: 0, httpRequests: 0 };
  let closed = false;

  const countingFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    counters.httpRequests++;
    counters.rpcCalls += countCalls(init?.body);
    return fetch(input, init);
  };

  const transports = opts.urls.map((url) =>
    chainChecked(
      url,
      http(url, {
        batch: { batchSize: opts.maxBatch },
        timeout: opts.timeoutMs,
        // Retrying a dead endpoint before trying the next one would stall the chain: fallback moves on
        // at once, and the fallback's own retryCount retries the whole list.
        retryCount: 0,
        fetchFn: countingFetch,
      }),
      opts.chainId,
      opts.logger,
    ),
  );

  const transport = fallback(transports, {
    retryCount: opts.retryCount,
    // A body over viem's size cap is as large from every endpoint; the caller splits the request instead.
    shouldThrow: (err) => err instanceof ResponseBodyTooLargeError || viemShouldThrow(err),
    rank:
      opts.urls.length > 1
        ? {
            interval: opts.rankIntervalMs,
            timeout: opts.timeoutMs,
            sampleCount: 5,
            // eth_blockNumber is served everywhere (net_listening, viem's default, is not), and a ping through
            // the chain-checked transport ranks a wrong-chain endpoint last. After close() the ping never
            // settles, which ends viem's ranking loop without a timer left behind.
            ping: ({ transport: t }) =>
              closed ? new Promise<never>(() => {}) : t.request({ method: 'eth_blockNumber' }),
          }
        : false,
  });

  const client = createPublicClient({ transport, pollingInterval: opts.rankIntervalMs });
  client.transport.onResponse?.((res) => {
    if (res.status !== 'error') return;
    const url = typeof res.transport.value?.url === 'string' ? redactUrl(res.transport.value.url) : '?';
    opts.logger?.debug({ url, method: res.method, err: shortError(res.error) }, 'RPC endpoint call failed');
  });

  return {
    client,
    counters,
    /** Stops the ranking pings at their next tick (within rankIntervalMs): their timer keeps a process alive. */
    close: () => {
      closed = true;
    },
  };
}

/**
 * What the reader throws for a failed call: the provider's message and JSON-RPC code, with endpoint URLs
 * cut to their host. viem's own errors carry the full URL (API keys often sit in its path) and the request
 * body, and loggers print an error's cause chain, so the original is not attached.
 */
export class ChainRpcError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = 'ChainRpcError';
    this.code = code;
  }
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>]+/gi;

export function toChainRpcError(err: unknown, what: string): Error {
  if (!(err instanceof Error) || !('shortMessage' in err))
    return err instanceof Error ? err : new Error(String(err));
  let code: number | undefined;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'number') {
      code = c;
      break;
    }
    e = (e as { cause?: unknown }).cause;
  }
  const text = `${what} failed: ${shortError(err)}`.replace(URL_IN_TEXT, (u) => redactUrl(u));
  return new ChainRpcError(text, code);
}

export function shortError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { shortMessage?: unknown; details?: unknown; message?: unknown };
    const head = typeof e.shortMessage === 'string' ? e.shortMessage : String(e.message);
    return typeof e.details === 'string' && e.details !== head ? `${head} ${e.details}` : head;
  }
  return String(err);
}

/**
 * Wraps an endpoint so that its eth_chainId is checked once before any other call goes to it. A failed
 * check (endpoint down) is retried on the next call; a wrong chain is remembered and refused for good.
 */
function chainChecked(
  url: string,
  inner: Transport,
  chainId: number,
  logger: RpcLogger | undefined,
): Transport {
  let verified = false;
  let wrongChain: WrongChainError | null = null;
  let inFlight: Promise<void> | null = null;

  const verify = (request: (args: { method: 'eth_chainId' }) => Promise<unknown>): Promise<void> => {
    inFlight ??= (async () => {
      try {
        const answer = await request({ method: 'eth_chainId' });
        const actual =
          typeof answer === 'string' && /^0x[0-9a-f]+$/i.test(answer) ? Number(answer) : Number.NaN;
        if (actual === chainId) {
          verified = true;
          return;
        }
        wrongChain = new WrongChainError(url, chainId, actual);
        logger?.warn({ url: redactUrl(url), expected: chainId, actual: String(answer) }, wrongChain.message);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };

  const wrapped: Transport = (params) => {
    const t = inner(params);
    const request = (async (args: unknown, options: unknown) => {
      if (wrongChain) throw wrongChain;
      if (!verified) {
        await verify(t.request as (args: { method: 'eth_chainId' }) => Promise<unknown>);
        if (wrongChain) throw wrongChain;
      }
      return (t.request as (a: unknown, o: unknown) => Promise<unknown>)(args, options);
    }) as typeof t.request;
    return { ...t, request };
  };
  return wrapped;
}
