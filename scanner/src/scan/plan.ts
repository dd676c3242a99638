// The scan loop's decisions, without I/O: which blocks link, what a reorg drops, which payments a block
// range holds, and which events follow. tick.ts feeds it what the chain and Redis said.
import {
  type Finality,
  NATIVE_LOG_INDEX,
  type PaymentEventData,
  type PaymentEventType,
  paymentEventDataSchema,
} from '@amanat/core';
import type { ObservedTx } from '@amanat/platform';
import type { Address, Hex } from 'viem';
import type { BlockRange, ScannedBlock, TransferLog } from '../rpc/types.ts';
import type { ScanState, StoredBlock, StoredPayment } from './state.ts';

export interface ConfirmationRule {
  confirmations: number;
  finality: Finality;
}

/** Where the chain stands in this tick. */
export interface ChainView {
  chainId: number;
  head: bigint;
  /** The node's finalized block, when the rule asks for it and the node has the tag. */
  finalized: bigint | null;
  rule: ConfirmationRule;
}

export interface PaymentEvent {
  type: PaymentEventType;
  data: PaymentEventData;
}

/** A transfer to a watched address, as found in one block. */
export interface FoundPayment extends Omit<StoredPayment, 'confirmed'> {
  blockNumber: bigint;
  blockHash: Hex;
}

/**
 * Whether a payment in `block` has reached the chain's rule. A chain configured for `finalized` whose
 * node has no finalized tag falls back to counting confirmations, rather than never confirming.
 */
export function isConfirmed(block: bigint, view: ChainView): boolean {
  if (view.rule.finality === 'finalized' && view.finalized !== null) return block <= view.finalized;
  return view.head - block + 1n >= BigInt(view.rule.confirmations);
}

/** The highest block whose payments count as confirmed now. */
export function confirmedTip(view: ChainView): bigint {
  if (view.rule.finality === 'finalized' && view.finalized !== null) return view.finalized;
  return view.head - BigInt(view.rule.confirmations) + 1n;
}

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const confirmationsAt = (block: bigint, head: bigint): number =>
  head >= block ? Number(head - block + 1n) : 0;

function paymentEvent(
  type: PaymentEventType,
  chainId: number,
  block: { number: bigint; hash: Hex },
  p: Omit<StoredPayment, 'confirmed'>,
  confirmations: number,
): PaymentEvent {
  // Parsed here so a malformed fact fails the tick that found it instead of a webhook later.
  const data = paymentEventDataSchema.parse({
    chainId,
    txHash: p.txHash,
    logIndex: p.logIndex,
    blockNumber: block.number.toString(),
    blockHash: block.hash,
    from: p.from,
    to: p.to,
    token: p.token,
    amount: p.amount.toString(),
    confirmations,
  });
  return { type, data };
}

/** How many of `blocks` (consecutive, ascending) chain onto `parentHash` and onto each other. */
export function linkedPrefix(parentHash: Hex | null, blocks: readonly ScannedBlock[]): number {
  let expected = parentHash;
  for (const [i, block] of blocks.entries()) {
    if (expected !== null && block.parentHash !== expected) return i;
    expected = block.hash;
  }
  return blocks.length;
}

/** Native-coin transfers (value > 0) from the blocks' transactions to addresses `isWatched` accepts. */
export function nativePayments(
  blocks: readonly ScannedBlock[],
  isWatched: (to: string) => boolean,
): FoundPayment[] {
  const found: FoundPayment[] = [];
  for (const block of blocks) {
    for (const tx of block.transactions) {
      if (tx.to === null || tx.value <= 0n || !isWatched(tx.to)) continue;
      found.push({
        blockNumber: block.number,
        blockHash: block.hash,
        txHash: tx.hash,
        logIndex: NATIVE_LOG_INDEX,
        from: tx.from,
        to: tx.to,
        token: 'native',
        amount: tx.value,
      });
    }
  }
  return found;
}

/**
 * Token payments from Transfer logs, checked against the blocks scanned: a log whose block hash differs
 * from the block fetched at that height came from another fork (the node moved between the two calls),
 * so only the blocks below the first such height can be trusted in this step.
 */
export function tokenPayments(
  logs: readonly TransferLog[],
  blockHashes: ReadonlyMap<bigint, Hex>,
): { payments: FoundPayment[]; trustedBelow: bigint | null } {
  const trustedBelow = firstForeignBlock(logs, blockHashes);
  const payments = logs
    .filter((log) => log.amount > 0n && (trustedBelow === null || log.blockNumber < trustedBelow))
    .map((log) => ({
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      txHash: log.txHash,
      logIndex: log.logIndex,
      from: log.from,
      to: log.to,
      token: log.token,
      amount: log.amount,
    }));
  return { payments, trustedBelow };
}

/** The lowest height at which a log's block hash is not the block fetched there; null when all match. */
export function firstForeignBlock(
  logs: readonly TransferLog[],
  blockHashes: ReadonlyMap<bigint, Hex>,
): bigint | null {
  let lowest: bigint | null = null;
  for (const log of logs) {
    if (blockHashes.get(log.blockNumber) !== log.blockHash) {
      if (lowest === null || log.blockNumber < lowest) lowest = log.blockNumber;
    }
  }
  return lowest;
}

/**
 * The transactions of watched payout senders in `blocks`, each with the Transfer logs it emitted from its
 * sender (`outgoing`: logs of those blocks whose sender is watched, already checked to be of these blocks).
 */
export function outgoingTxs(
  blocks: readonly ScannedBlock[],
  outgoing: readonly TransferLog[],
  senders: ReadonlySet<string>,
): ObservedTx[] {
  const logsByTx = new Map<Hex, TransferLog[]>();
  for (const log of outgoing) {
    const list = logsByTx.get(log.txHash);
    if (list) list.push(log);
    else logsByTx.set(log.txHash, [log]);
  }
  const seen: ObservedTx[] = [];
  for (const block of blocks) {
    for (const tx of block.transactions) {
      if (!senders.has(tx.from)) continue;
      const transfers = (logsByTx.get(tx.hash) ?? [])
        .filter((log) => log.from === tx.from && log.blockHash === block.hash)
        .map((log) => ({ token: log.token, from: log.from, to: log.to, amount: log.amount }));
      seen.push({
        txHash: tx.hash,
        blockNumber: block.number,
        blockHash: block.hash,
        from: tx.from,
        to: tx.to,
        value: tx.value,
        transfers,
      });
    }
  }
  return seen;
}

const samePayment = (a: Pick<StoredPayment, 'txHash' | 'logIndex'>, b: typeof a) =>
  a.txHash === b.txHash && a.logIndex === b.logIndex;

/**
 * Confirms what has reached the rule and forgets blocks beyond `keep` that hold nothing unconfirmed,
 * so the window stays contiguous and every unconfirmed payment stays in it.
 */
function confirmAndTrim(
  recent: StoredBlock[],
  view: ChainView,
  keep: number,
  events: PaymentEvent[],
): StoredBlock[] {
  const next = recent.map((block) => {
    if (!block.payments.some((p) => !p.confirmed) || !isConfirmed(block.number, view)) return block;
    return {
      ...block,
      payments: block.payments.map((p) => {
        if (p.confirmed) return p;
        events.push(
          paymentEvent('payment.confirmed', view.chainId, block, p, confirmationsAt(block.number, view.head)),
        );
        return { ...p, confirmed: true };
      }),
    };
  });
  let drop = 0;
  while (next.length - drop > keep && next[drop]?.payments.every((p) => p.confirmed)) drop++;
  return next.slice(drop);
}

/**
 * Appends scanned blocks (already checked to link onto the cursor) with the payments found in them:
 * `payment.detected` for each new payment, then `payment.confirmed` for every remembered payment that
 * reached the rule, including ones found in this same step.
 */
export function advance(
  state: ScanState,
  blocks: readonly ScannedBlock[],
  found: readonly FoundPayment[],
  view: ChainView,
  keep: number,
): { state: ScanState; events: PaymentEvent[] } {
  const last = blocks.at(-1);
  if (!last) return { state, events: [] };
  const byBlock = new Map<Hex, FoundPayment[]>();
  for (const p of found) {
    const list = byBlock.get(p.blockHash);
    if (list) list.push(p);
    else byBlock.set(p.blockHash, [p]);
  }
  const events: PaymentEvent[] = [];
  const appended: StoredBlock[] = blocks.map((block) => {
    const payments: StoredPayment[] = [];
    const inBlock = (byBlock.get(block.hash) ?? []).toSorted((a, b) => a.logIndex - b.logIndex);
    for (const p of inBlock) {
      // Overlapping log queries may return a log twice; it is one payment.
      if (payments.some((q) => samePayment(p, q))) continue;
      const { blockNumber: _n, blockHash: _h, ...payment } = p;
      payments.push({ ...payment, confirmed: false });
      events.push(
        paymentEvent(
          'payment.detected',
          view.chainId,
          block,
          payment,
          confirmationsAt(block.number, view.head),
        ),
      );
    }
    return { number: block.number, hash: block.hash, payments };
  });
  const recent = confirmAndTrim([...state.recent, ...appended], view, keep, events);
  return { state: { ...state, cursor: { number: last.number, hash: last.hash }, recent }, events };
}

/**
 * Moves the cursor back to the common ancestor after a reorg and emits `payment.reorged` for every
 * payment in the dropped blocks. Without an ancestor (the reorg is deeper than the remembered window),
 * everything remembered is dropped and scanning restarts at the oldest remembered block.
 */
export function rewind(
  state: ScanState,
  ancestor: StoredBlock | null,
  chainId: number,
): { state: ScanState; events: PaymentEvent[] } {
  const dropped = ancestor ? state.recent.filter((b) => b.number > ancestor.number) : state.recent;
  const kept = ancestor ? state.recent.filter((b) => b.number <= ancestor.number) : [];
  const cursor = ancestor
    ? { number: ancestor.number, hash: ancestor.hash }
    : { number: (state.recent[0]?.number ?? state.cursor.number + 1n) - 1n, hash: null };
  const events = dropped.flatMap((block) =>
    block.payments.map((p) => paymentEvent('payment.reorged', chainId, block, p, 0)),
  );
  const coldCursor = state.coldCursor < cursor.number ? state.coldCursor : cursor.number;
  return { state: { ...state, cursor, recent: kept, coldCursor }, events };
}

/** The newest remembered block whose hash is still the canonical one at its height. */
export function findAncestor(
  candidates: readonly StoredBlock[],
  canonical: ReadonlyMap<bigint, Hex>,
): StoredBlock | null {
  let best: StoredBlock | null = null;
  for (const block of candidates) {
    if (canonical.get(block.number) === block.hash && (best === null || block.number > best.number)) {
      best = block;
    }
  }
  return best;
}

/** The next range of confirmed blocks the cold scan has not covered, or null when it is caught up. */
export function coldRange(state: ScanState, view: ChainView, maxBlocks: bigint): BlockRange | null {
  const tip = minBig(confirmedTip(view), state.cursor.number);
  if (tip <= state.coldCursor) return null;
  const fromBlock = state.coldCursor + 1n;
  const toBlock = minBig(fromBlock + maxBlocks - 1n, tip);
  return { fromBlock, toBlock };
}

/**
 * Cold finds come from blocks already at their confirmation depth, so they are reported as confirmed
 * at once. A payment the hot scan already confirmed in the same block is not reported again. Returns
 * null when a log's block is not the one remembered at its height: the node answered from another fork,
 * and the range is left for a later run.
 */
export function applyColdFinds(
  state: ScanState,
  logs: readonly TransferLog[],
  range: BlockRange,
  view: ChainView,
): { state: ScanState; events: PaymentEvent[] } | null {
  const events: PaymentEvent[] = [];
  const recent = state.recent.map((b) => ({ ...b, payments: [...b.payments] }));
  const byNumber = new Map(recent.map((b) => [b.number, b]));
  for (const log of logs) {
    if (log.amount <= 0n) continue;
    const block = { number: log.blockNumber, hash: log.blockHash };
    const payment = {
      txHash: log.txHash,
      logIndex: log.logIndex,
      from: log.from,
      to: log.to,
      token: log.token as Address,
      amount: log.amount,
    };
    const remembered = byNumber.get(log.blockNumber);
    if (remembered && remembered.hash !== log.blockHash) return null;
    if (remembered) {
      const at = remembered.payments.findIndex((p) => samePayment(p, payment));
      if (at >= 0 && remembered.payments[at]?.confirmed) continue;
      if (at >= 0) remembered.payments[at] = { ...payment, confirmed: true };
      else remembered.payments.push({ ...payment, confirmed: true });
    }
    events.push(
      paymentEvent(
        'payment.confirmed',
        view.chainId,
        block,
        payment,
        confirmationsAt(block.number, view.head),
      ),
    );
  }
  return { state: { ...state, recent, coldCursor: range.toBlock }, events };
}
