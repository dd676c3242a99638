// bench:scanner's chain side: raw JSON-RPC to anvil (batched, no client library in the way), and the
// seeding of thousands of blocks of token transfers with the expected payments to watched addresses.
import { randomBytes } from 'node:crypto';
import { NATIVE_LOG_INDEX } from '@amanat/core';
import { toEventSelector } from 'viem';

export type Hex = `0x${string}`;

const TRANSFER_TOPIC = toEventSelector('Transfer(address,address,uint256)');

interface RpcAnswer {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

/** One JSON-RPC call; fails with the node's error message. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const [result] = await rpcBatch<T>(url, [{ method, params }]);
  return result as T;
}

/** A batch of calls in one HTTP request; answers in the order asked, any error fails the whole batch. */
export async function rpcBatch<T = unknown>(
  url: string,
  calls: ReadonlyArray<{ method: string; params: unknown[] }>,
): Promise<T[]> {
  if (calls.length === 0) return [];
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, method: c.method, params: c.params }))),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const answers = (await res.json()) as RpcAnswer[];
  const byId = new Map(answers.map((a) => [a.id, a]));
  return calls.map((c, id) => {
    const a = byId.get(id);
    if (!a) throw new Error(`${c.method}: no answer`);
    if (a.error) throw new Error(`${c.method}: ${a.error.message}`);
    return a.result as T;
  });
}

export const toQuantity = (n: bigint | number): Hex => `0x${BigInt(n).toString(16)}`;
export const randomAddress = (): Hex => `0x${randomBytes(20).toString('hex')}`;

export async function blockNumber(url: string): Promise<bigint> {
  return BigInt(await rpc<string>(url, 'eth_blockNumber'));
}

const TRANSFER_SELECTOR = '0xa9059cbb';
const word = (hexNo0x: string) => hexNo0x.padStart(64, '0');
const TOKEN_GAS = toQuantity(100_000);
const NATIVE_GAS = toQuantity(21_000);

/** One transfer to send: a token's `transfer(to, amount)` or, with token null, native coin. */
export interface Transfer {
  from: Hex;
  to: Hex;
  token: Hex | null;
  amount: bigint;
  /** Whether `to` is in the watch set: its payment must be reported. */
  watched: boolean;
}

/** A payment the scanner must report: keyed as the scanner keys it (lower-case tx hash, log index). */
export interface ExpectedPayment {
  txHash: Hex;
  logIndex: number;
  to: Hex;
  blockNumber: bigint;
}

export const paymentKey = (p: { txHash: string; logIndex: number }) =>
  `${p.txHash.toLowerCase()}/${p.logIndex}`;

/** Hands out explicit nonces per sender, so a batch never waits on the node to count pending ones. */
export class Nonces {
  private readonly next = new Map<string, bigint>();
  async load(url: string, accounts: readonly Hex[]): Promise<void> {
    const counts = await rpcBatch<string>(
      url,
      accounts.map((a) => ({ method: 'eth_getTransactionCount', params: [a, 'pending'] })),
    );
    for (const [i, a] of accounts.entries()) this.next.set(a.toLowerCase(), BigInt(counts[i] as string));
  }
  take(account: Hex): bigint {
    const n = this.next.get(account.toLowerCase());
    if (n === undefined) throw new Error(`no nonce loaded for ${account}`);
    this.next.set(account.toLowerCase(), n + 1n);
    return n;
  }
}

function sendCall(t: Transfer, nonce: bigint): { method: string; params: unknown[] } {
  const tx =
    t.token === null
      ? { from: t.from, to: t.to, value: toQuantity(t.amount), gas: NATIVE_GAS, nonce: toQuantity(nonce) }
      : {
          from: t.from,
          to: t.token,
          data: `${TRANSFER_SELECTOR}${word(t.to.slice(2).toLowerCase())}${word(t.amount.toString(16))}`,
          gas: TOKEN_GAS,
          nonce: toQuantity(nonce),
        };
  return { method: 'eth_sendTransaction', params: [tx] };
}

/**
 * Sends transfers from unlocked dev accounts in one batch and returns their transaction hashes; with
 * `mine`, the batch ends in `evm_mine` (anvil answers a batch in order, so the block holds them all).
 */
export async function sendTransfers(
  url: string,
  transfers: readonly Transfer[],
  nonces: Nonces,
  opts: { mine?: boolean } = {},
): Promise<Hex[]> {
  const calls = transfers.map((t) => sendCall(t, nonces.take(t.from)));
  if (opts.mine) calls.push({ method: 'evm_mine', params: [] });
  const answers = await rpcBatch<Hex>(url, calls);
  return answers.slice(0, transfers.length);
}

interface RawLog {
  address: string;
  topics: string[];
  logIndex: string;
  transactionHash: string;
  blockNumber: string;
}
interface RawReceipt {
  status: string;
  blockNumber: string;
  transactionHash: string;
  logs: RawLog[];
}

/**
 * What the scanner must report for these transfers, read from their receipts: every Transfer log to a
 * watched recipient (its log index is known only once mined), and native payments with the sentinel.
 */
export async function expectedPayments(
  url: string,
  sent: ReadonlyArray<{ hash: Hex; transfer: Transfer }>,
): Promise<ExpectedPayment[]> {
  const out: ExpectedPayment[] = [];
  const watched = sent.filter((s) => s.transfer.watched);
  for (let i = 0; i < watched.length; i += 200) {
    const slice = watched.slice(i, i + 200);
    const receipts = await rpcBatch<RawReceipt | null>(
      url,
      slice.map((s) => ({ method: 'eth_getTransactionReceipt', params: [s.hash] })),
    );
    for (const [j, receipt] of receipts.entries()) {
      const { hash, transfer } = slice[j] as { hash: Hex; transfer: Transfer };
      if (!receipt) throw new Error(`transaction ${hash} was never mined`);
      if (receipt.status !== '0x1') throw new Error(`transaction ${hash} reverted`);
      const blockNumber = BigInt(receipt.blockNumber);
      if (transfer.token === null) {
        out.push({ txHash: hash, logIndex: NATIVE_LOG_INDEX, to: transfer.to, blockNumber });
        continue;
      }
      const logs = receipt.logs.filter(
        (l) =>
          l.topics[0] === TRANSFER_TOPIC &&
          l.topics[2] !== undefined &&
          `0x${l.topics[2].slice(26)}` === transfer.to.toLowerCase(),
      );
      if (logs.length !== 1) throw new Error(`transaction ${hash} has ${logs.length} Transfer logs`);
      out.push({
        txHash: hash,
        logIndex: Number(BigInt((logs[0] as RawLog).logIndex)),
        to: transfer.to,
        blockNumber,
      });
    }
  }
  return out;
}

/** Counts Transfer logs (from any contract) in a block range, in spans a node answers comfortably. */
export async function countTransferLogs(url: string, from: bigint, to: bigint): Promise<number> {
  let n = 0;
  for (let start = from; start <= to; start += 250n) {
    const end = start + 249n < to ? start + 249n : to;
    const logs = await rpc<unknown[]>(url, 'eth_getLogs', [
      { fromBlock: toQuantity(start), toBlock: toQuantity(end), topics: [TRANSFER_TOPIC] },
    ]);
    n += logs.length;
  }
  return n;
}

/** Each block holds exactly the transactions sent for it. */
async function checkBlockSizes(url: string, first: bigint, sizes: readonly number[]): Promise<void> {
  for (let i = 0; i < sizes.length; i += 200) {
    const blocks = await rpcBatch<{ transactions: string[] }>(
      url,
      sizes.slice(i, i + 200).map((_, j) => ({
        method: 'eth_getBlockByNumber',
        params: [toQuantity(first + BigInt(i + j)), false],
      })),
    );
    for (const [j, b] of blocks.entries()) {
      if (b.transactions.length !== sizes[i + j]) {
        throw new Error(
          `block ${first + BigInt(i + j)} holds ${b.transactions.length} transactions, expected ${sizes[i + j]}`,
        );
      }
    }
  }
}

export interface SeedPlan {
  blocks: number;
  tokenTransfersPerBlock: number;
  /** Token transfers (of blocks × per block) that go to watched addresses. */
  watchedTokenTransfers: number;
  /** One native transfer every this many blocks, one in `nativeWatchedEvery` of them to a watched address. */
  nativeEveryBlocks: number;
  nativeWatchedEvery: number;
}

export interface Seeded {
  firstBlock: bigint;
  lastBlock: bigint;
  tokenTransfers: number;
  nativeTransfers: number;
  expected: ExpectedPayment[];
  ms: number;
}

/** Random indices: `count` distinct numbers below `total`. */
function pick(total: number, count: number): Set<number> {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(Math.random() * total));
  return chosen;
}

/**
 * Mines `plan.blocks` blocks of transfers with automine off: each block's transactions go in one
 * batched request, then `evm_mine`. Senders rotate over the dev accounts; tokens alternate.
 */
export async function seedTransfers(
  url: string,
  opts: { plan: SeedPlan; senders: readonly Hex[]; tokens: readonly Hex[]; watched: readonly Hex[] },
): Promise<Seeded> {
  const { plan, senders, tokens, watched } = opts;
  const started = performance.now();
  const nonces = new Nonces();
  await nonces.load(url, senders);
  const total = plan.blocks * plan.tokenTransfersPerBlock;
  const toWatched = pick(total, plan.watchedTokenTransfers);
  const anyWatched = () => watched[Math.floor(Math.random() * watched.length)] as Hex;
  const sent: Array<{ hash: Hex; transfer: Transfer }> = [];
  let senderTurn = 0;
  let nativeTransfers = 0;
  const firstBlock = (await blockNumber(url)) + 1n;
  const perBlock: number[] = [];

  await rpc(url, 'evm_setAutomine', [false]);
  try {
    for (let b = 0; b < plan.blocks; b++) {
      const transfers: Transfer[] = [];
      for (let k = 0; k < plan.tokenTransfersPerBlock; k++) {
        const i = b * plan.tokenTransfersPerBlock + k;
        const isWatched = toWatched.has(i);
        transfers.push({
          from: senders[senderTurn++ % senders.length] as Hex,
          to: isWatched ? anyWatched() : randomAddress(),
          token: tokens[i % tokens.length] as Hex,
          amount: BigInt(1 + Math.floor(Math.random() * 1_000_000)),
          watched: isWatched,
        });
      }
      if (b % plan.nativeEveryBlocks === 0) {
        const isWatched = nativeTransfers % plan.nativeWatchedEvery === 0;
        nativeTransfers++;
        transfers.push({
          from: senders[senderTurn++ % senders.length] as Hex,
          to: isWatched ? anyWatched() : randomAddress(),
          token: null,
          amount: 1_000_000_000_000n + BigInt(b),
          watched: isWatched,
        });
      }
      const hashes = await sendTransfers(url, transfers, nonces, { mine: true });
      for (const [j, hash] of hashes.entries()) sent.push({ hash, transfer: transfers[j] as Transfer });
      perBlock.push(transfers.length);
    }
  } finally {
    await rpc(url, 'evm_setAutomine', [true]);
  }
  const lastBlock = await blockNumber(url);
  if (lastBlock - firstBlock + 1n !== BigInt(plan.blocks)) {
    throw new Error(`seeding mined blocks ${firstBlock}..${lastBlock}, expected ${plan.blocks}`);
  }
  await checkBlockSizes(url, firstBlock, perBlock);
  const logs = await countTransferLogs(url, firstBlock, lastBlock);
  if (logs !== total) throw new Error(`seeding left ${logs} Transfer logs, expected ${total}`);
  return {
    firstBlock,
    lastBlock,
    tokenTransfers: total,
    nativeTransfers,
    expected: await expectedPayments(url, sent),
    ms: performance.now() - started,
  };
}
