// One scan tick for one chain: read the head, scan the new blocks in steps, handle reorgs, run the cold
// scan when it is due. Every step enqueues its events first and then moves the cursor with a
// compare-and-set (writing what the payout signer's transactions did in the same script), so a crash
// anywhere repeats a step (same event ids) and never skips one.
import type { Chain, PaymentEventType } from '@amanat/core';
import { type Logger, type ObservedTx, payoutSenders } from '@amanat/platform';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BlockUnavailableError } from '../rpc/index.ts';
import type { BlockRange, ChainRpc, ScannedBlock, TransferLog } from '../rpc/types.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { enqueueEvents, oldestUndelivered } from './emit.ts';
import {
  advance,
  applyColdFinds,
  type ChainView,
  coldRange,
  findAncestor,
  firstForeignBlock,
  linkedPrefix,
  nativePayments,
  outgoingTxs,
  type PaymentEvent,
  rewind,
  tokenPayments,
} from './plan.ts';
import { freshState, recentBlocksToKeep, resumeBlock, type ScanState } from './state.ts';
import { ScanStateStore, WatchSets } from './store.ts';

export const DEFAULT_TICK_BUDGET_MS = 5_000;
export const DEFAULT_BLOCKS_PER_STEP = 250;
export const DEFAULT_COLD_BLOCKS_PER_STEP = 10_000;
/** Blocks this close to the head have their logs read by block hash (see scanToHead). */
const NEAR_HEAD_BLOCKS = 16n;

export interface ScanDeps {
  chain: Pick<Chain, 'chainId' | 'confirmations' | 'finality'>;
  rpc: ChainRpc;
  /** Reads and writes the scan state and the watch sets. */
  redis: Redis;
  /** REDIS_PREFIX. */
  prefix: string;
  /** The callbacks queue the events go to. */
  callbacks: Queue;
  checkpointDir: string;
  /** Where to start when neither Redis nor the checkpoint has a cursor; the head when absent. */
  startBlock?: bigint | undefined;
  coldEveryTicks: number;
  /** Catch-up continues in steps until this much time has passed in the tick. */
  budgetMs?: number;
  blocksPerStep?: number;
  coldBlocksPerStep?: number;
  /** Blocks below the cursor an observed outgoing transaction is kept (DEFAULT_OUTGOING_KEEP_BLOCKS). */
  outgoingKeepBlocks?: number;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  hooks?: ScanHooks;
}

/** Fault-injection points for crash tests; never set in production. */
export interface ScanHooks {
  /** Runs after a step's events are enqueued and before its state is written. */
  beforeCommit?: (step: StepReport) => void | Promise<void>;
}

export type StepKind = 'init' | 'blocks' | 'reorg' | 'cold';

export interface StepReport {
  kind: StepKind;
  range: BlockRange | null;
  events: readonly PaymentEvent[];
}

export interface TickReport {
  chainId: number;
  /** This chain's tick count (shared by every scanner process). */
  tick: number;
  /** The head was the cursor: nothing but the head was read from the chain. */
  idle: boolean;
  head: bigint;
  /** The cursor after the tick. */
  cursor: bigint;
  /** Block ranges the hot scan committed, in order (after a reorg a height is scanned again). */
  scanned: BlockRange[];
  /** Block ranges the cold scan committed. */
  cold: BlockRange[];
  reorgs: number;
  events: { detected: number; confirmed: number; reorged: number };
  /** Transactions of the payout signer's senders this tick recorded. */
  outgoing: number;
  /** Set when the tick found no state in Redis and started from elsewhere. */
  startedFrom?: 'checkpoint' | 'start-block' | 'head';
  startedAt: number;
  finishedAt: number;
}

/** Runs one tick. Safe to run again after it failed anywhere; not safe to run twice at once per chain
 * (the queue's global concurrency prevents that, and the state's compare-and-set makes one of two lose). */
export function scanTick(deps: ScanDeps): Promise<TickReport> {
  return new TickRun(deps).run();
}

const lower = <T extends string>(s: T): T => s.toLowerCase() as T;

function normalizeBlock(b: ScannedBlock): ScannedBlock {
  return {
    number: b.number,
    hash: lower(b.hash),
    parentHash: lower(b.parentHash),
    timestamp: b.timestamp,
    transactions: b.transactions.map((tx) => ({
      hash: lower(tx.hash),
      from: lower(tx.from),
      to: tx.to === null ? null : lower(tx.to),
      value: tx.value,
      transactionIndex: tx.transactionIndex,
    })),
  };
}

const normalizeLog = (log: TransferLog): TransferLog => ({
  ...log,
  token: lower(log.token),
  from: lower(log.from),
  to: lower(log.to),
  txHash: lower(log.txHash),
  blockHash: lower(log.blockHash),
});

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const COUNTER: Record<PaymentEventType, keyof TickReport['events']> = {
  'payment.detected': 'detected',
  'payment.confirmed': 'confirmed',
  'payment.reorged': 'reorged',
};

class TickRun {
  private readonly deps: ScanDeps;
  private readonly store: ScanStateStore;
  private readonly watch: WatchSets;
  private readonly chainId: number;
  private readonly keep: number;
  private readonly startedAt = Date.now();
  private readonly deadline: number;
  private state!: ScanState;
  private version = '';
  private head!: ScannedBlock;
  private hot: Set<string> | null = null;
  private senders: Set<string> | null = null;
  private finalized: bigint | null | undefined;
  private committed = false;
  private readonly report: TickReport;

  constructor(deps: ScanDeps) {
    this.deps = deps;
    this.chainId = deps.chain.chainId;
    this.store = new ScanStateStore(deps.redis, deps.prefix, this.chainId, deps.outgoingKeepBlocks);
    this.watch = new WatchSets(deps.redis, deps.prefix, this.chainId);
    this.keep = recentBlocksToKeep(deps.chain.confirmations);
    this.deadline = this.startedAt + (deps.budgetMs ?? DEFAULT_TICK_BUDGET_MS);
    this.report = {
      chainId: this.chainId,
      tick: 0,
      idle: false,
      head: 0n,
      cursor: 0n,
      scanned: [],
      cold: [],
      reorgs: 0,
      events: { detected: 0, confirmed: 0, reorged: 0 },
      outgoing: 0,
      startedAt: this.startedAt,
      finishedAt: 0,
    };
  }

  async run(): Promise<TickReport> {
    const loaded = await this.store.load();
    this.report.tick = loaded.tick;
    this.version = loaded.version;
    this.head = normalizeBlock(await this.deps.rpc.latestBlock());
    this.report.head = this.head.number;
    try {
      this.state = loaded.state ?? (await this.initialState());
      if (this.state.cursor.hash === this.head.hash) this.report.idle = true;
      else await this.scanToHead();
      if (loaded.tick - this.state.coldRanAtTick >= this.deps.coldEveryTicks)
        await this.scanCold(loaded.tick);
    } finally {
      // An older checkpoint is always safe (a longer rescan), so a failed tick still leaves what it reached.
      if (this.committed) {
        const undelivered = await oldestUndelivered(this.deps.redis, this.deps.prefix, this.chainId);
        const resumeFrom = resumeBlock(this.state);
        await writeCheckpoint(this.deps.checkpointDir, {
          chainId: this.chainId,
          resumeFrom: undelivered !== null && undelivered < resumeFrom ? undelivered : resumeFrom,
          coldCursor: this.state.coldCursor,
        });
      }
    }
    this.report.cursor = this.state.cursor.number;
    this.report.finishedAt = Date.now();
    await this.store.recordProgress(this.head.number, this.report.finishedAt);
    return this.report;
  }

  private async initialState(): Promise<ScanState> {
    const { checkpointDir, startBlock, logger } = this.deps;
    const checkpoint = await readCheckpoint(checkpointDir, this.chainId);
    let state: ScanState;
    if (checkpoint) {
      state = freshState(checkpoint.resumeFrom, checkpoint.coldCursor);
      this.report.startedFrom = 'checkpoint';
    } else if (startBlock !== undefined) {
      state = freshState(startBlock);
      this.report.startedFrom = 'start-block';
    } else {
      state = freshState(this.head.number);
      this.report.startedFrom = 'head';
    }
    logger.warn(
      { chainId: this.chainId, from: this.report.startedFrom, block: String(state.cursor.number + 1n) },
      'no scan state in Redis: starting a new cursor',
    );
    // Fixed at once, so a failure later in this tick cannot move a head start past unscanned blocks.
    await this.commit('init', null, state, []);
    return state;
  }

  private async scanToHead(): Promise<void> {
    const perStep = BigInt(this.deps.blocksPerStep ?? DEFAULT_BLOCKS_PER_STEP);
    for (let first = true; first || Date.now() < this.deadline; first = false) {
      const { cursor } = this.state;
      if (cursor.hash === this.head.hash) return;
      if (this.head.number <= cursor.number) {
        // The head is at or below the cursor with another hash: the cursor's block may be gone, or the
        // endpoint that answered is behind the one that gave us the cursor.
        if (cursor.hash === null || (await this.cursorStillCanonical())) {
          // Brief when one endpoint lags; lasting when the node was reset to a new chain (then the
          // scan state and checkpoint belong to the old one and must be removed by an operator).
          if (this.head.number < cursor.number) {
            this.deps.logger.warn(
              { chainId: this.chainId, head: String(this.head.number), cursor: String(cursor.number) },
              'the chain head is behind the scan cursor: waiting for the node',
            );
          }
          return;
        }
        await this.reorg();
        continue;
      }
      const range = {
        fromBlock: cursor.number + 1n,
        toBlock: minBig(this.head.number, cursor.number + perStep),
      };
      const hot = await this.hotSet();
      let blocks: ScannedBlock[];
      let logs: TransferLog[];
      if (range.toBlock + NEAR_HEAD_BLOCKS > this.head.number) {
        // Near the head, endpoints disagree on what exists: logs by block hash fail on an endpoint that
        // lacks the block, where a range past its head would quietly answer with fewer logs.
        blocks = await this.fetchBlocks(range);
        logs = hot.size > 0 ? await this.deps.rpc.transferLogsInBlocks(blocks, hot) : [];
      } else {
        [blocks, logs] = await Promise.all([
          this.fetchBlocks(range),
          hot.size > 0 ? this.deps.rpc.transferLogs(range, hot) : Promise.resolve([]),
        ]);
      }
      const linked = linkedPrefix(cursor.hash, blocks);
      if (linked === 0) {
        await this.reorg();
        continue;
      }
      const scanned = blocks.slice(0, linked);
      const outgoing = await this.outgoingLogs(scanned);
      if (!(await this.scanBlocks(scanned, logs.map(normalizeLog), outgoing))) return;
    }
  }

  /**
   * Transfer logs out of the payout signer's senders, asked only for blocks holding a transaction of one
   * of them: with nothing in flight (the usual case) this costs no call at all.
   */
  private async outgoingLogs(blocks: readonly ScannedBlock[]): Promise<TransferLog[]> {
    const senders = await this.senderSet();
    if (senders.size === 0) return [];
    const sending = blocks.flatMap((b) => {
      const from = new Set(b.transactions.filter((tx) => senders.has(tx.from)).map((tx) => tx.from));
      return from.size > 0 ? [{ number: b.number, hash: b.hash, senders: [...from] }] : [];
    });
    if (sending.length === 0) return [];
    return (await this.deps.rpc.transferLogsFromInBlocks(sending)).map(normalizeLog);
  }

  /** Commits the blocks with their payments; false when the logs did not match them (retry later). */
  private async scanBlocks(
    linked: ScannedBlock[],
    logs: TransferLog[],
    outgoing: TransferLog[],
  ): Promise<boolean> {
    const lastLinked = linked.at(-1)?.number ?? -1n;
    const hashes = new Map(linked.map((b) => [b.number, b.hash]));
    const tokens = tokenPayments(
      logs.filter((l) => l.blockNumber <= lastLinked),
      hashes,
    );
    const foreign = [tokens.trustedBelow, firstForeignBlock(outgoing, hashes)].filter((n) => n !== null);
    const trustedBelow = foreign.length > 0 ? foreign.reduce(minBig) : null;
    const blocks = trustedBelow === null ? linked : linked.filter((b) => b.number < trustedBelow);
    const first = blocks[0];
    const last = blocks.at(-1);
    if (!first || !last) {
      this.deps.logger.warn(
        { chainId: this.chainId, block: String(trustedBelow) },
        'logs came from another fork than the blocks: retrying next tick',
      );
      return false;
    }
    const hot = await this.hotSet();
    const candidates = new Set<string>();
    for (const b of blocks) {
      for (const tx of b.transactions) {
        if (tx.to !== null && tx.value > 0n && !hot.has(tx.to)) candidates.add(tx.to);
      }
    }
    const cold = candidates.size > 0 ? await this.watch.inCold([...candidates]) : new Set<string>();
    const natives = nativePayments(blocks, (to) => hot.has(to) || cold.has(to));
    const trusted = tokens.payments.filter((p) => trustedBelow === null || p.blockNumber < trustedBelow);
    const found = [...natives, ...trusted];
    const pending = found.length > 0 || this.state.recent.some((b) => b.payments.some((p) => !p.confirmed));
    const view = await this.view(pending);
    const next = advance(this.state, blocks, found, view, this.keep);
    const range = { fromBlock: first.number, toBlock: last.number };
    const seen = outgoingTxs(blocks, outgoing, await this.senderSet());
    await this.commit('blocks', range, next.state, next.events, seen);
    this.report.scanned.push(range);
    this.report.outgoing += seen.length;
    return blocks.length === linked.length;
  }

  /**
   * Whether the cursor's block is still the one at its height. A node that has no block there yet is
   * behind (one endpoint of several lagging): nothing to do until it catches up, and no reorg to report.
   */
  private async cursorStillCanonical(): Promise<boolean> {
    const { cursor } = this.state;
    if (this.head.number === cursor.number) return false;
    try {
      const [atCursor] = await this.fetchNumbers([cursor.number]);
      return atCursor?.hash === cursor.hash;
    } catch (err) {
      if (err instanceof BlockUnavailableError) return true;
      throw err;
    }
  }

  /** Walks back over the remembered blocks to the newest one still canonical, and rewinds to it. */
  private async reorg(): Promise<void> {
    const candidates = this.state.recent.filter((b) => b.number <= this.head.number).reverse();
    let ancestor = null;
    // Most reorgs are a block or two deep: look at the newest few first, then widen.
    for (let i = 0, size = 8; i < candidates.length && !ancestor; i += size, size *= 4) {
      const window = candidates.slice(i, i + size);
      const canonical = await this.fetchNumbers(window.map((b) => b.number));
      ancestor = findAncestor(window, new Map(canonical.map((b) => [b.number, b.hash])));
    }
    const { state, events } = rewind(this.state, ancestor, this.chainId);
    this.deps.logger.warn(
      {
        chainId: this.chainId,
        from: String(this.state.cursor.number),
        to: String(state.cursor.number),
        deep: ancestor === null,
        reorged: events.length,
      },
      ancestor ? 'reorg: rewound to the common ancestor' : 'reorg deeper than the remembered blocks',
    );
    this.report.reorgs++;
    await this.commit('reorg', null, state, events);
  }

  private async scanCold(tick: number): Promise<void> {
    const view = await this.view(this.deps.chain.finality === 'finalized');
    const perStep = BigInt(this.deps.coldBlocksPerStep ?? DEFAULT_COLD_BLOCKS_PER_STEP);
    let cold: Set<string> | null = null;
    for (let first = true; first || Date.now() < this.deadline; first = false) {
      const range = coldRange(this.state, view, perStep);
      if (!range) {
        if (this.state.coldRanAtTick !== tick) {
          await this.commit('cold', null, { ...this.state, coldRanAtTick: tick }, []);
        }
        return;
      }
      cold ??= await this.watch.cold();
      const logs = cold.size > 0 ? (await this.deps.rpc.transferLogs(range, cold)).map(normalizeLog) : [];
      const next = applyColdFinds(this.state, logs, range, view);
      if (!next) {
        this.deps.logger.warn(
          { chainId: this.chainId, from: String(range.fromBlock), to: String(range.toBlock) },
          'cold logs came from another fork: retrying next tick',
        );
        return;
      }
      await this.commit('cold', range, next.state, next.events);
      this.report.cold.push(range);
    }
  }

  private async commit(
    kind: StepKind,
    range: BlockRange | null,
    next: ScanState,
    events: PaymentEvent[],
    seen: readonly ObservedTx[] = [],
  ): Promise<void> {
    if (events.length > 0)
      await enqueueEvents(this.deps.callbacks, events, { redis: this.deps.redis, prefix: this.deps.prefix });
    await this.deps.hooks?.beforeCommit?.({ kind, range, events });
    this.version = await this.store.save(next, this.version, seen);
    this.state = next;
    this.committed = true;
    for (const e of events) this.report.events[COUNTER[e.type]]++;
  }

  private async hotSet(): Promise<Set<string>> {
    this.hot ??= await this.watch.hot();
    return this.hot;
  }

  /**
   * Read once per tick, after the head: the signer lists a sender before it broadcasts, so any of its
   * transactions in a block up to this tick's head is in a list read now.
   */
  private async senderSet(): Promise<Set<string>> {
    this.senders ??= await payoutSenders(this.deps.redis, this.deps.prefix, this.chainId);
    return this.senders;
  }

  /** The chain's view for confirmations; the finalized tag is read only when something depends on it. */
  private async view(needFinalized: boolean): Promise<ChainView> {
    if (needFinalized && this.deps.chain.finality === 'finalized' && this.finalized === undefined) {
      this.finalized = await this.deps.rpc.finalizedBlockNumber();
    }
    return {
      chainId: this.chainId,
      head: this.head.number,
      finalized: this.finalized ?? null,
      rule: { confirmations: this.deps.chain.confirmations, finality: this.deps.chain.finality },
    };
  }

  private fetchBlocks(range: BlockRange): Promise<ScannedBlock[]> {
    const numbers: bigint[] = [];
    for (let n = range.fromBlock; n <= range.toBlock; n++) numbers.push(n);
    return this.fetchNumbers(numbers);
  }

  /** Blocks by number in one batch; the head already read is reused rather than fetched again. */
  private async fetchNumbers(numbers: readonly bigint[]): Promise<ScannedBlock[]> {
    const missing = numbers.filter((n) => n !== this.head.number);
    const fetched = missing.length > 0 ? await this.deps.rpc.blocksByNumber(missing) : [];
    const byNumber = new Map<bigint, ScannedBlock>([[this.head.number, this.head]]);
    for (const b of fetched) byNumber.set(b.number, normalizeBlock(b));
    return numbers.map((n) => {
      const block = byNumber.get(n);
      if (!block) throw new Error(`chain ${this.chainId}: the node returned no block ${n}`);
      return block;
    });
  }
}
