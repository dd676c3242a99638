import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { ScannedBlock, TransferLog } from '../rpc/types.ts';
import {
  advance,
  applyColdFinds,
  type ChainView,
  coldRange,
  findAncestor,
  linkedPrefix,
  rewind,
  tokenPayments,
} from './plan.ts';
import { freshState, parseState, resumeBlock, type ScanState, serializeState } from './state.ts';

const hash = (n: number, fork = 0): Hex =>
  `0x${fork.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}`;
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`;
const WATCHED = addr(0xaa);

const block = (n: number, fork = 0, txs: ScannedBlock['transactions'] = []): ScannedBlock => ({
  number: BigInt(n),
  hash: hash(n, fork),
  parentHash: hash(n - 1, fork),
  timestamp: BigInt(n * 12),
  transactions: txs,
});

const log = (n: number, logIndex: number, amount = 5n, fork = 0): TransferLog => ({
  token: addr(0x70),
  from: addr(0x01),
  to: WATCHED,
  amount,
  txHash: hash(n * 100 + logIndex, 9),
  logIndex,
  blockNumber: BigInt(n),
  blockHash: hash(n, fork),
});

const view = (head: number, confirmations = 3): ChainView => ({
  chainId: 1,
  head: BigInt(head),
  finalized: null,
  rule: { confirmations, finality: 'confirmations' },
});

/** Scans blocks from..to with `logs`, as the tick does, starting from `state`. */
function scan(state: ScanState, from: number, to: number, logs: TransferLog[], keep = 64) {
  const blocks = Array.from({ length: to - from + 1 }, (_, i) => block(from + i));
  const found = tokenPayments(logs, new Map(blocks.map((b) => [b.number, b.hash]))).payments;
  return advance(state, blocks, found, view(to), keep);
}

describe('scan plan', () => {
  it('finds where a batch stops linking onto the cursor', () => {
    expect(linkedPrefix(hash(9), [block(10), block(11), block(12)])).toBe(3);
    expect(linkedPrefix(hash(9, 1), [block(10), block(11)])).toBe(0);
    expect(linkedPrefix(null, [block(10), block(11, 1)])).toBe(1);
  });

  it('detects at inclusion and confirms once the count is reached, each payment once', () => {
    const first = scan(freshState(10n), 10, 11, [log(11, 0), log(11, 0), log(11, 2, 0n)]);
    expect(first.events.map((e) => `${e.type}:${e.data.logIndex}:${e.data.confirmations}`)).toEqual([
      'payment.detected:0:1',
    ]);
    const second = scan(first.state, 12, 12, []);
    expect(second.events).toEqual([]);
    const third = scan(second.state, 13, 14, []);
    expect(third.events.map((e) => `${e.type}:${e.data.blockNumber}:${e.data.confirmations}`)).toEqual([
      'payment.confirmed:11:4',
    ]);
    expect(scan(third.state, 15, 20, []).events).toEqual([]);
  });

  it('remembers a bounded window but never forgets an unconfirmed payment', () => {
    const state = scan(freshState(1n), 1, 100, [log(50, 0)], 8).state;
    expect(state.recent.map((b) => b.number)).toEqual(Array.from({ length: 8 }, (_, i) => BigInt(93 + i)));
    const pending = advance(freshState(1n), [block(1), block(2), block(3)], [], view(3, 1_000), 2);
    const withPayment = advance(
      pending.state,
      Array.from({ length: 10 }, (_, i) => block(4 + i)),
      tokenPayments([log(5, 1)], new Map([[5n, hash(5)]])).payments,
      view(13, 1_000),
      2,
    );
    expect(withPayment.state.recent[0]?.number).toBe(5n);
    expect(resumeBlock(withPayment.state)).toBe(5n);
  });

  it('rewinds to the common ancestor, or past the whole window when none is left', () => {
    const { state } = scan(freshState(10n), 10, 15, [log(12, 0), log(14, 3)]);
    const canonical = new Map([
      [15n, hash(15, 1)],
      [14n, hash(14, 1)],
      [13n, hash(13)],
    ]);
    const ancestor = findAncestor(state.recent, canonical);
    expect(ancestor?.number).toBe(13n);
    const shallow = rewind(state, ancestor, 1);
    expect(shallow.state.cursor).toEqual({ number: 13n, hash: hash(13) });
    expect(shallow.events.map((e) => `${e.type}:${e.data.blockNumber}`)).toEqual(['payment.reorged:14']);

    const deep = rewind(state, null, 1);
    expect(deep.state.cursor).toEqual({ number: 9n, hash: null });
    expect(deep.state.recent).toEqual([]);
    expect(deep.events.map((e) => e.data.blockNumber)).toEqual(['12', '14']);
  });

  it('trusts only the blocks below a log from another fork', () => {
    const hashes = new Map([10, 11, 12].map((n) => [BigInt(n), hash(n)]));
    const { payments, trustedBelow } = tokenPayments([log(10, 0), log(11, 0, 5n, 2), log(12, 0)], hashes);
    expect(trustedBelow).toBe(11n);
    expect(payments.map((p) => p.blockNumber)).toEqual([10n]);
  });

  it('reports cold finds as confirmed once, and refuses logs from a block it remembers otherwise', () => {
    const hot = scan(freshState(10n), 10, 20, [log(12, 0)]);
    const range = coldRange(hot.state, view(20), 100n);
    expect(range).toEqual({ fromBlock: 10n, toBlock: 18n });
    if (!range) return;
    const cold = applyColdFinds(hot.state, [log(12, 0), log(13, 4), log(5, 1)], range, view(20));
    expect(cold?.events.map((e) => `${e.type}:${e.data.blockNumber}:${e.data.logIndex}`)).toEqual([
      'payment.confirmed:13:4',
      'payment.confirmed:5:1',
    ]);
    expect(cold?.state.coldCursor).toBe(18n);
    expect(applyColdFinds(hot.state, [log(13, 4, 5n, 3)], range, view(20))).toBeNull();
    if (cold) expect(coldRange(cold.state, view(20), 100n)).toBeNull();
  });

  it('round-trips the stored state exactly', () => {
    const { state } = scan(freshState(0n), 0, 5, [log(3, 1)]);
    expect(parseState(serializeState(state))).toEqual(state);
    expect(parseState(serializeState(freshState(0n)))).toEqual(freshState(0n));
  });
});
