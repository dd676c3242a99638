// The scanner's chain reader: blocks with their transactions and ERC-20 Transfer logs to watched
// addresses (and out of the payout signer's), read with plain polling calls (no server-side filters,
// which vanish behind load balancers).
import { type Hex, ResponseBodyTooLargeError, toHex } from 'viem';
import { AdaptiveLogRange, adviseFromErrorText, providerErrorText } from './log-range.ts';
import {
  addressTopic,
  compareLogs,
  parseBlock,
  parseBlockNumberOf,
  parseTransferLogs,
  RpcDataError,
  TRANSFER_TOPIC,
} from './rpc-data.ts';
import { createRpcClient, shortError, toChainRpcError, WrongChainError } from './transport.ts';
import type { BlockRange, ChainRpc, ChainRpcOptions, ScannedBlock, TransferLog } from './types.ts';

const DEFAULTS = {
  timeoutMs: 10_000,
  maxBatch: 25,
  recipientChunk: 500,
  maxLogRange: 2_000n,
  unfilteredMaxBlocks: 10n,
  retryCount: 1,
  rankIntervalMs: 10_000,
} as const;

/** The node has not got this block (yet): a lagging endpoint, or a number past the head. */
export class BlockUnavailableError extends Error {
  readonly blockTag: string;
  constructor(blockTag: string) {
    super(`The RPC endpoint has no block ${blockTag} (yet).`);
    this.name = 'BlockUnavailableError';
    this.blockTag = blockTag;
  }
}

export interface ChainRpcHandle extends ChainRpc {
  /** Stops background endpoint ranking. Calls still work afterwards, without re-ranking. */
  close(): void;
}

const ADDRESS_LOWER = /^0x[0-9a-f]{40}$/;

export function createChainRpc(opts: ChainRpcOptions): ChainRpcHandle {
  const chainId = opts.chainId;
  if (!Number.isSafeInteger(chainId) || chainId < 1)
    throw new RangeError(`chainId must be a positive integer`);
  if (opts.urls.length === 0) throw new RangeError(`chain ${chainId} has no RPC URLs`);
  for (const url of opts.urls) {
    if (!/^https?:\/\//i.test(url)) throw new RangeError(`chain ${chainId}: RPC URLs must be http(s)`);
  }
  const maxBatch = positiveInt(opts.maxBatch ?? DEFAULTS.maxBatch, 'maxBatch');
  const recipientChunk = positiveInt(opts.recipientChunk ?? DEFAULTS.recipientChunk, 'recipientChunk');
  const timeoutMs = positiveInt(opts.timeoutMs ?? DEFAULTS.timeoutMs, 'timeoutMs');
  const maxLogRange = opts.maxLogRange ?? DEFAULTS.maxLogRange;
  const unfilteredMaxBlocks = opts.unfilteredMaxBlocks ?? DEFAULTS.unfilteredMaxBlocks;
  const logger = opts.logger;

  const { client, counters, close } = createRpcClient({
    chainId,
    urls: opts.urls,
    timeoutMs,
    maxBatch,
    retryCount: DEFAULTS.retryCount,
    rankIntervalMs: DEFAULTS.rankIntervalMs,
    logger,
  });
  // Separate ranges: an unfiltered query is far denser, and its lessons would shrink the filtered range.
  const filteredRange = new AdaptiveLogRange({ max: maxLogRange });
  const unfilteredRange = new AdaptiveLogRange({ max: unfilteredMaxBlocks < 1n ? 1n : unfilteredMaxBlocks });

  async function getBlock(tag: Hex | 'latest', expected?: bigint): Promise<ScannedBlock> {
    const raw: unknown = await client.request({ method: 'eth_getBlockByNumber', params: [tag, true] });
    if (raw === null || raw === undefined) throw new BlockUnavailableError(expected?.toString() ?? tag);
    return parseBlock(raw, expected);
  }

  async function blockGroup(numbers: readonly bigint[]): Promise<ScannedBlock[]> {
    try {
      return await Promise.all(numbers.map((n) => getBlock(toHex(n), n)));
    } catch (err) {
      // Full blocks can be large: a batch whose combined answer passes viem's body cap is asked in halves.
      if (!(err instanceof ResponseBodyTooLargeError) || numbers.length < 2) throw err;
      const half = Math.ceil(numbers.length / 2);
      logger?.debug({ chainId, blocks: numbers.length }, 'block batch too large, splitting');
      const first = await blockGroup(numbers.slice(0, half));
      const second = await blockGroup(numbers.slice(half));
      return [...first, ...second];
    }
  }

  async function getLogs(from: bigint, to: bigint, topics: (Hex | Hex[] | null)[]): Promise<unknown> {
    // No transport-level retry: a refusal is about the range, and the caller adapts it instead.
    return client.request(
      { method: 'eth_getLogs', params: [{ fromBlock: toHex(from), toBlock: toHex(to), topics }] },
      { retryCount: 0 },
    );
  }

  async function getLogsByHash(blockHash: Hex, topics: (Hex | Hex[] | null)[]): Promise<unknown> {
    return client.request({ method: 'eth_getLogs', params: [{ blockHash, topics }] });
  }

  /** Walks [fromBlock, toBlock] in spans of the adaptive range, shrinking and retrying a span that fails. */
  async function walkRange(
    range: BlockRange,
    adaptive: AdaptiveLogRange,
    query: (from: bigint, to: bigint) => Promise<{ logs: TransferLog[]; rawCount: number }>,
  ): Promise<TransferLog[]> {
    const out: TransferLog[] = [];
    let from = range.fromBlock;
    // Retries of one span strictly shrink, whatever concurrent calls do to the shared range meanwhile.
    let cap: bigint | null = null;
    while (from <= range.toBlock) {
      const remaining = range.toBlock - from + 1n;
      const span = min(min(adaptive.current, cap ?? adaptive.current), remaining);
      const to = from + span - 1n;
      try {
        const { logs, rawCount } = await query(from, to);
        adaptive.succeeded(span, rawCount);
        for (const log of logs) out.push(log);
        from = to + 1n;
        cap = null;
      } catch (err) {
        // Bad data and wrong-chain endpoints are not about the range: a smaller one would fail the same way.
        if (span === 1n || err instanceof RpcDataError || causedBy(err, WrongChainError)) throw err;
        const advice = adviseFromErrorText(providerErrorText(err));
        cap = min(adaptive.failed(span, advice), span - 1n);
        logger?.debug(
          {
            chainId,
            fromBlock: from.toString(),
            span: span.toString(),
            next: cap.toString(),
            advice: advice.kind,
            err: shortError(err),
          },
          'eth_getLogs refused, shrinking the block range',
        );
      }
    }
    return out;
  }

  function watchedSet(recipients: ReadonlySet<string>): Set<string> {
    const watched = new Set<string>();
    for (const r of recipients) {
      const lower = r.toLowerCase();
      if (!ADDRESS_LOWER.test(lower)) throw new TypeError(`not an address: ${r}`);
      watched.add(lower);
    }
    return watched;
  }

  async function transferLogsInBlocks(
    blocks: ReadonlyArray<{ number: bigint; hash: Hex }>,
    recipients: ReadonlySet<string>,
  ): Promise<TransferLog[]> {
    const watched = watchedSet(recipients);
    if (watched.size === 0 || blocks.length === 0) return [];
    const chunks = chunk([...watched].map(addressTopic), recipientChunk);
    // One chunk: filtered by recipient. Several: every Transfer of the block, filtered here (one call).
    const topics: (Hex | Hex[] | null)[] =
      chunks.length === 1 ? [TRANSFER_TOPIC, null, chunks[0] as Hex[]] : [TRANSFER_TOPIC];
    const raws = await Promise.all(blocks.map((b) => getLogsByHash(b.hash, topics)));
    const logs = raws.flatMap((raw, i) => {
      const n = (blocks[i] as { number: bigint }).number;
      return parseTransferLogs(raw, watched, n, n);
    });
    return dedupeSorted(logs);
  }

  async function transferLogsFromInBlocks(
    blocks: ReadonlyArray<{ number: bigint; hash: Hex; senders: readonly string[] }>,
  ): Promise<TransferLog[]> {
    const raws = await Promise.all(
      blocks.map((b) => {
        const chunks = chunk(b.senders.map(addressTopic), recipientChunk);
        // As for recipients: one chunk filters by sender; several take every Transfer of the block.
        const topics: (Hex | Hex[] | null)[] =
          chunks.length === 1 ? [TRANSFER_TOPIC, chunks[0] as Hex[]] : [TRANSFER_TOPIC];
        return b.senders.length === 0 ? Promise.resolve([]) : getLogsByHash(b.hash, topics);
      }),
    );
    const logs = raws.flatMap((raw, i) => {
      const b = blocks[i] as (typeof blocks)[number];
      return parseTransferLogs(raw, watchedSet(new Set(b.senders)), b.number, b.number, 'from');
    });
    return dedupeSorted(logs);
  }

  async function transferLogs(range: BlockRange, recipients: ReadonlySet<string>): Promise<TransferLog[]> {
    if (range.fromBlock < 0n || range.toBlock < range.fromBlock) {
      throw new RangeError(`invalid block range ${range.fromBlock}..${range.toBlock}`);
    }
    const watched = watchedSet(recipients);
    if (watched.size === 0) return [];

    const chunks = chunk([...watched].map(addressTopic), recipientChunk);
    const blocks = range.toBlock - range.fromBlock + 1n;
    let logs: TransferLog[];
    if (chunks.length > 1 && blocks <= unfilteredMaxBlocks) {
      // Many recipients, few blocks (the head): every Transfer in the range in one call beats one call per chunk.
      logs = await walkRange(range, unfilteredRange, async (from, to) => {
        const raw = await getLogs(from, to, [TRANSFER_TOPIC]);
        return { logs: parseTransferLogs(raw, watched, from, to), rawCount: lengthOf(raw) };
      });
    } else {
      // One chunk: one filtered call per span. Several: one call per chunk, sent together as one HTTP batch.
      logs = await walkRange(range, filteredRange, async (from, to) => {
        const raws = await Promise.all(chunks.map((c) => getLogs(from, to, [TRANSFER_TOPIC, null, c])));
        const found: TransferLog[] = [];
        let rawCount = 0;
        for (const raw of raws) {
          for (const log of parseTransferLogs(raw, watched, from, to)) found.push(log);
          rawCount += lengthOf(raw);
        }
        return { logs: found, rawCount };
      });
    }
    return dedupeSorted(logs);
  }

  async function blocksByNumber(numbers: readonly bigint[]): Promise<ScannedBlock[]> {
    if (numbers.length === 0) return [];
    // Every group is sent at once: viem's batch scheduler puts them in HTTP requests of maxBatch calls.
    const groups = chunk(numbers, maxBatch);
    const results = await Promise.all(groups.map((g) => blockGroup(g)));
    return results.flat();
  }

  async function finalizedBlockNumber(): Promise<bigint | null> {
    try {
      const raw: unknown = await client.request(
        { method: 'eth_getBlockByNumber', params: ['finalized', false] },
        { retryCount: 0 },
      );
      if (raw === null || raw === undefined) return null;
      return parseBlockNumberOf(raw);
    } catch (err) {
      if (isUnsupportedTagError(err)) return null;
      throw err;
    }
  }

  /** Errors leave the reader without endpoint URLs (API keys) or request bodies in them. */
  const guarded =
    <A extends unknown[], R>(what: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      fn(...args).catch((err: unknown) => {
        throw toChainRpcError(err, `chain ${chainId} ${what}`);
      });

  return {
    chainId,
    latestBlock: guarded('latestBlock', () => getBlock('latest')),
    blocksByNumber: guarded('blocksByNumber', blocksByNumber),
    finalizedBlockNumber: guarded('finalizedBlockNumber', finalizedBlockNumber),
    transferLogs: guarded('transferLogs', transferLogs),
    transferLogsInBlocks: guarded('transferLogsInBlocks', transferLogsInBlocks),
    transferLogsFromInBlocks: guarded('transferLogsFromInBlocks', transferLogsFromInBlocks),
    stats: () => ({
      rpcCalls: counters.rpcCalls,
      httpRequests: counters.httpRequests,
      logRange: filteredRange.current,
    }),
    close,
  };
}

/** A JSON-RPC refusal of the `finalized` tag itself, as opposed to a network failure or a rate limit. */
function isUnsupportedTagError(err: unknown): boolean {
  let code: number | undefined;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'number' && code === undefined) code = c;
    e = (e as { cause?: unknown }).cause;
  }
  if (code === undefined) return false;
  if (code === -32602) return true;
  return /finali[sz]ed|block tag|unknown block|not (?:found|supported)|invalid (?:block|argument)/i.test(
    providerErrorText(err),
  );
}

function causedBy(err: unknown, type: new (...args: never[]) => Error): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    if (e instanceof type) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function dedupeSorted(logs: TransferLog[]): TransferLog[] {
  logs.sort(compareLogs);
  const out: TransferLog[] = [];
  for (const log of logs) {
    const prev = out[out.length - 1];
    if (prev && prev.blockNumber === log.blockNumber && prev.logIndex === log.logIndex) continue;
    out.push(log);
  }
  return out;
}

function lengthOf(raw: unknown): number {
  return Array.isArray(raw) ? raw.length : 0;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
