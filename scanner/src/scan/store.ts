import { randomUUID } from 'node:crypto';
import { redisKeys } from '@amanat/core';
import { encodeObservedTx, type ObservedTx, SCAN_CURSOR_FIELD } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { parseState, type ScanState, serializeState } from './state.ts';

/**
 * A chain's scan state in Redis: one hash under `scanState(chainId)` with the state document, its
 * version (a random token, so a state rebuilt after a flush can never be mistaken for an old one), a
 * tick counter for the cold schedule, and what the last tick saw (for health checks on any process).
 * Next to it, what the payout signer's transactions did (`outgoingSeen`, indexed by block in
 * `outgoingSeenBlocks`), written by the same script as the cursor.
 */

/**
 * How deep an observed outgoing transaction is kept. The signer reads it within seconds of its
 * confirmations; this covers a signer that was down for days on a fast chain, and keeps the hash bounded.
 */
export const DEFAULT_OUTGOING_KEEP_BLOCKS = 500_000;

// Counting the tick and reading the state in one round trip.
const LOAD = `
local tick = redis.call('HINCRBY', KEYS[1], 'ticks', 1)
local v = redis.call('HMGET', KEYS[1], 'version', 'doc')
return {tick, v[1] or false, v[2] or false}
`;

// Replaces the document only if it is still the version the caller read: of two scanners that both
// computed a next state, exactly one advances the cursor. The outgoing transactions go with it, so the
// cursor never passes a block whose observations are not written: those above the new cursor are dropped
// (their blocks were rewound away; a rescan writes them again), those at or below ARGV[5] pruned, then
// the step's own (ARGV[6..]: tx hash, block number, observation) written.
const SAVE = `
local current = redis.call('HGET', KEYS[1], 'version') or ''
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'doc', ARGV[3], '${SCAN_CURSOR_FIELD}', ARGV[4])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[4], '+inf')
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])) do table.insert(stale, h) end
for _, h in ipairs(stale) do
  redis.call('HDEL', KEYS[2], h)
  redis.call('ZREM', KEYS[3], h)
end
for i = 6, #ARGV, 3 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
  redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
end
return 1
`;

export class StateConflictError extends Error {
  constructor(chainId: number) {
    super(`scan state of chain ${chainId} changed under this tick; another scanner advanced it`);
    this.name = 'StateConflictError';
  }
}

export interface LoadedState {
  state: ScanState | null;
  /** '' when there is no state yet. */
  version: string;
  tick: number;
}

export interface ChainProgress {
  cursor: bigint | null;
  head: bigint | null;
  /** When a tick last finished, ms since the epoch. */
  at: number | null;
}

export class ScanStateStore {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly seenKey: string;
  private readonly seenBlocksKey: string;
  private readonly chainId: number;
  private readonly outgoingKeepBlocks: bigint;

  constructor(
    redis: Redis,
    prefix: string,
    chainId: number,
    outgoingKeepBlocks: number = DEFAULT_OUTGOING_KEEP_BLOCKS,
  ) {
    const keys = redisKeys(prefix);
    this.redis = redis;
    this.key = keys.scanState(chainId);
    this.seenKey = keys.outgoingSeen(chainId);
    this.seenBlocksKey = keys.outgoingSeenBlocks(chainId);
    this.chainId = chainId;
    this.outgoingKeepBlocks = BigInt(outgoingKeepBlocks);
  }

  /** Counts a tick and reads the state. */
  async load(): Promise<LoadedState> {
    const [tick, version, doc] = (await this.redis.eval(LOAD, 1, this.key)) as [
      number,
      string | null,
      string | null,
    ];
    if (!version || !doc) return { state: null, version: '', tick };
    return { state: parseState(doc), version, tick };
  }

  /**
   * Writes `state` if the stored version is still `expected`, with the outgoing transactions seen in
   * the step (and those of rewound or long-final blocks removed); returns the new version.
   */
  async save(state: ScanState, expected: string, seen: readonly ObservedTx[] = []): Promise<string> {
    const version = randomUUID();
    const cursor = state.cursor.number;
    const ok = await this.redis.eval(
      SAVE,
      3,
      this.key,
      this.seenKey,
      this.seenBlocksKey,
      expected,
      version,
      serializeState(state),
      cursor.toString(),
      (cursor - this.outgoingKeepBlocks).toString(),
      ...seen.flatMap((tx) => [tx.txHash, tx.blockNumber.toString(), encodeObservedTx(tx)]),
    );
    if (ok !== 1) throw new StateConflictError(this.chainId);
    return version;
  }

  /** Records what a finished tick saw; informational, so no version check. */
  async recordProgress(head: bigint, at: number): Promise<void> {
    await this.redis.hset(this.key, 'head', head.toString(), 'at', String(at));
  }

  async progress(): Promise<ChainProgress> {
    const [cursor, head, at] = await this.redis.hmget(this.key, SCAN_CURSOR_FIELD, 'head', 'at');
    return {
      cursor: cursor ? BigInt(cursor) : null,
      head: head ? BigInt(head) : null,
      at: at ? Number(at) : null,
    };
  }
}

const MEMBERSHIP_CHUNK = 5_000;

/** The watched deposit addresses of one chain (lower-case, kept by the API and the workers). */
export class WatchSets {
  private readonly redis: Redis;
  private readonly hotKey: string;
  private readonly coldKey: string;

  constructor(redis: Redis, prefix: string, chainId: number) {
    this.redis = redis;
    this.hotKey = redisKeys(prefix).watchSet(chainId);
    this.coldKey = redisKeys(prefix).coldWatchSet(chainId);
  }

  async hot(): Promise<Set<string>> {
    return new Set((await this.redis.smembers(this.hotKey)).map((a) => a.toLowerCase()));
  }

  /** The whole cold set, read in pages so a large set never blocks Redis in one command. */
  async cold(): Promise<Set<string>> {
    const all = new Set<string>();
    let cursor = '0';
    do {
      const [next, page] = await this.redis.sscan(this.coldKey, cursor, 'COUNT', 5_000);
      for (const a of page) all.add(a.toLowerCase());
      cursor = next;
    } while (cursor !== '0');
    return all;
  }

  /** Which of `addresses` are in the cold set, without reading the set itself. */
  async inCold(addresses: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < addresses.length; i += MEMBERSHIP_CHUNK) {
      const chunk = addresses.slice(i, i + MEMBERSHIP_CHUNK);
      const flags = await this.redis.smismember(this.coldKey, ...chunk);
      chunk.forEach((a, j) => {
        if (flags[j] === 1) found.add(a);
      });
    }
    return found;
  }
}
