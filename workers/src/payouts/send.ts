import {
  allocateNonce,
  attemptsOf,
  insertPayoutAttempt,
  insertReplacementAttempt,
  type Logger,
  liveAttempt,
  lockPayoutRecord,
  markAttemptBroadcast,
  markAttemptMined,
  markConfirmed,
  markFailed,
  type ObservedTx,
  type PayoutAttempt,
  type PayoutRecordRef,
  type Pool,
  payoutRecordState,
  recordAttemptGas,
  type ScannerView,
  setPayoutRecordStatus,
  withTransaction,
} from '@amanat/platform';
import {
  BaseError,
  encodeFunctionData,
  erc20Abi,
  type FeeValuesEIP1559,
  type Hex,
  keccak256,
  type PublicClient,
  parseEventLogs,
  parseGwei,
  parseTransaction,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from 'viem';
import type { OutgoingTransfer, SendState } from './types.ts';

/** What `sendOnce` needs; one per chain. */
export interface SendContext {
  pool: Pool;
  /** A client for `t.chainId`'s chain. */
  chain: PublicClient;
  /** The chain's confirmation count: a receipt this many blocks deep (itself included) is final. */
  confirmations: number;
  /**
   * The scanner's view of the signer's transactions: a payout is confirmed only when the scanner saw the
   * same transfer in the receipt's block and scanned the confirmation count past it.
   */
  scannerView: ScannerView;
  logger: Logger;
  /** The most a replacement bids per gas (PAYOUT_MAX_FEE_PER_GAS_GWEI); default DEFAULT_MAX_FEE_PER_GAS. */
  maxFeePerGas?: bigint;
  /** Blocks a broadcast transaction may wait unmined before it is replaced; default REPLACE_AFTER_BLOCKS. */
  replaceAfterBlocks?: number;
  /** Test seams at the dangerous points: a throw here simulates a crash. */
  hooks?: {
    /** After the signed transaction is committed to PostgreSQL, before it is broadcast. */
    afterSign?(): Promise<void>;
    /** After the node accepted the transaction, before 'broadcast' is recorded. */
    afterBroadcast?(): Promise<void>;
  };
}

/** What a transfer sends: the call, before gas, fees and nonce. */
export interface TransferCall {
  to: `0x${string}`;
  value: bigint;
  data?: Hex;
}

/** Gas and EIP-1559 fees for one transfer; `gas` includes the safety margin. */
export interface TransferCost {
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Percent added to eth_estimateGas: state can change between estimate and inclusion. */
export const GAS_MARGIN_PERCENT = 20n;

/**
 * A broadcast transaction first in its address's line (every lower nonce mined) and still unmined this
 * many blocks after a node accepted it is replaced; one whose max fee is below the latest base fee (it
 * cannot be included at all) is replaced at once.
 */
export const REPLACE_AFTER_BLOCKS = 10;
/** PAYOUT_MAX_FEE_PER_GAS_GWEI's default: a replacement never bids more per gas. */
export const DEFAULT_MAX_FEE_PER_GAS = parseGwei('500');
/** Nodes refuse a replacement that does not raise both fees enough (geth 10 %, others 12.5 %): +12.5 %, up. */
export const bumpFee = (fee: bigint): bigint => (fee * 1125n + 999n) / 1000n;
const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The call that moves `t.amount`: a value transfer, or ERC-20 `transfer(to, amount)`. The token's return
 * value is never relied on (USDT-like tokens return nothing); the receipt's Transfer log is checked instead.
 */
export function transferCall(t: Pick<OutgoingTransfer, 'to' | 'token' | 'amount'>): TransferCall {
  if (t.token === 'native') return { to: t.to, value: t.amount };
  return {
    to: t.token,
    value: 0n,
    data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [t.to, t.amount] }),
  };
}

/**
 * Fee reads are shared for FEES_FRESH_MS per chain client: every check, top-up sizing and signing of the
 * payouts running at once would otherwise read the same block and priority fee again (two calls each).
 * A second-old estimate is still within the 20 % base-fee margin viem adds (a block raises the base fee by
 * 12.5 % at most), and a transaction that falls behind is replaced anyway.
 */
const FEES_FRESH_MS = 1000;
const recentFees = new WeakMap<PublicClient, { at: number; fees: Promise<FeeValuesEIP1559> }>();
function feesPerGas(chain: PublicClient): Promise<FeeValuesEIP1559> {
  const cached = recentFees.get(chain);
  if (cached && Date.now() - cached.at < FEES_FRESH_MS) return cached.fees;
  const fees = chain.estimateFeesPerGas({ type: 'eip1559', chain: chain.chain ?? null });
  recentFees.set(chain, { at: Date.now(), fees });
  // A failed read is not kept: the next caller asks again.
  fees.catch(() => {
    if (recentFees.get(chain)?.fees === fees) recentFees.delete(chain);
  });
  return fees;
}

/**
 * Gas (eth_estimateGas + GAS_MARGIN_PERCENT) and current EIP-1559 fees for a transfer. The most it can
 * cost the sender is gas × maxFeePerGas: what a gas top-up must cover.
 */
export async function estimateTransferCost(
  chain: PublicClient,
  t: Pick<OutgoingTransfer, 'from' | 'to' | 'token' | 'amount'>,
): Promise<TransferCost> {
  const call = transferCall(t);
  const [estimate, fees] = await Promise.all([
    chain.estimateGas({ account: t.from.address, ...call }),
    feesPerGas(chain),
  ]);
  return {
    gas: (estimate * (100n + GAS_MARGIN_PERCENT) + 99n) / 100n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  };
}

/**
 * Moves one record's money at most once and reports where it stands. Safe to call again and again, from
 * any number of processes: a record that already has a signed transaction gets that same transaction
 * re-broadcast and checked, never a second one with another nonce. A stuck one (see REPLACE_AFTER_BLOCKS)
 * is replaced by one with higher fees under the same nonce, so at most one of them can be mined; the
 * record settles on whichever was. Throws on transient trouble (RPC, database): calling again is the retry.
 */
export async function sendOnce(ctx: SendContext, t: OutgoingTransfer): Promise<SendState> {
  if (t.amount <= 0n) throw new Error(`sendOnce: amount must be positive (${t.record.table} ${t.record.id})`);
  const state = await payoutRecordState(ctx.pool, t.record);
  if (!state) throw new Error(`sendOnce: no ${t.record.table} row ${t.record.id}`);
  if (state.status === 'failed')
    return { status: 'failed', txHash: (state.txHash as Hex | null) ?? null, reason: state.failure ?? '' };
  if (state.status === 'awaiting_approval')
    throw new Error(`sendOnce: ${t.record.table} ${t.record.id} awaits an operator's approval`);

  let attempt = await liveAttempt(ctx.pool, t.record.table, t.record.id);
  if (state.status === 'confirmed' && attempt) {
    const receipt = await receiptOf(ctx.chain, attempt.txHash);
    if (receipt) return { status: 'confirmed', txHash: attempt.txHash, blockNumber: receipt.blockNumber };
  }
  let fresh = false;
  if (!attempt) {
    ({ attempt, fresh } = await signAndStore(ctx, t));
    if (fresh) await ctx.hooks?.afterSign?.();
  }
  return broadcastAndCheck(ctx, t, attempt, fresh);
}

/**
 * In one PostgreSQL transaction: lock the record, take its nonce, sign, store the raw transaction and
 * mark the record 'signed'. Whoever locks the record second finds the first one's attempt and uses it.
 */
async function signAndStore(
  ctx: SendContext,
  t: OutgoingTransfer,
): Promise<{ attempt: PayoutAttempt; fresh: boolean }> {
  // Estimated outside the lock: it does not depend on the nonce, and RPC round trips under the nonce row
  // lock would serialise every sender of the address behind them.
  const cost = await estimateTransferCost(ctx.chain, t);
  const call = transferCall(t);
  return withTransaction(ctx.pool, async (client) => {
    const locked = await lockPayoutRecord(client, t.record);
    if (!locked) throw new Error(`sendOnce: no ${t.record.table} row ${t.record.id}`);
    const existing = await liveAttempt(client, t.record.table, t.record.id);
    if (existing) return { attempt: existing, fresh: false };
    if (locked.status !== 'pending') {
      throw new Error(
        `sendOnce: ${t.record.table} ${t.record.id} is '${locked.status}' without a signed transaction`,
      );
    }
    const nonce = await allocateNonce(client, t.chainId, t.from.address, async () =>
      BigInt(await ctx.chain.getTransactionCount({ address: t.from.address, blockTag: 'pending' })),
    );
    const rawTx = await t.from.signTransaction({
      chainId: t.chainId,
      nonce: Number(nonce),
      to: call.to,
      value: call.value,
      ...(call.data ? { data: call.data } : {}),
      ...cost,
    });
    const attempt = await insertPayoutAttempt(client, {
      record: t.record,
      chainId: t.chainId,
      from: t.from.address,
      nonce,
      txHash: keccak256(rawTx),
      rawTx,
      gasLimit: cost.gas,
      maxFeePerGas: cost.maxFeePerGas,
      maxPriorityFeePerGas: cost.maxPriorityFeePerGas,
    });
    await setPayoutRecordStatus(client, t.record, 'signed');
    ctx.logger.info(
      {
        record: t.record.table,
        id: String(t.record.id),
        from: t.from.address,
        nonce: String(nonce),
        txHash: attempt.txHash,
      },
      'payout signed',
    );
    return { attempt, fresh: true };
  });
}

/** Node answers to a re-broadcast that mean the transaction (or one with its nonce) is already there. */
const ALREADY_THERE =
  /already known|already imported|known transaction|nonce too low|replacement transaction underpriced/i;
const NO_FUNDS = /insufficient funds/i;
/**
 * A node that will not take a transaction bidding less than the pending block's base fee (anvil; geth
 * keeps it waiting in its pool). It is recorded as broadcast all the same: the next look replaces it with
 * a higher fee, or, at the fee cap, sends it again until fees have fallen.
 */
const BELOW_BASE_FEE = /less than (the )?block base fee/i;

function errorText(err: unknown): string {
  if (err instanceof BaseError) {
    const parts: string[] = [];
    err.walk((e) => {
      if (e instanceof BaseError) parts.push(e.shortMessage, e.details ?? '');
      else if (e instanceof Error) parts.push(e.message);
      return false;
    });
    return parts.join(' | ');
  }
  return err instanceof Error ? err.message : String(err);
}

async function receiptOf(chain: PublicClient, hash: Hex): Promise<TransactionReceipt | null> {
  try {
    return await chain.getTransactionReceipt({ hash });
  } catch (err) {
    if (err instanceof TransactionReceiptNotFoundError) return null;
    throw err;
  }
}

async function broadcastAndCheck(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
  fresh: boolean,
): Promise<SendState> {
  // A transaction signed a moment ago cannot have a receipt yet; an older one (or one it replaced) may.
  let mined = fresh ? null : await minedAttempt(ctx, t.record);
  if (!mined) {
    const live = fresh ? attempt : ((await replaceIfStuck(ctx, t, attempt)) ?? attempt);
    const refused = await broadcast(ctx, t, live);
    if (refused) return refused;
    mined = await minedAttempt(ctx, t.record);
    if (!mined) return pendingState(ctx, t, live);
  }
  return settle(ctx, t, mined.attempt, mined.receipt);
}

/** Sends an attempt to the node (again); a state to report when the node refused it for lack of funds. */
async function broadcast(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
): Promise<SendState | null> {
  // Listed first: the scanner then cannot have read a block holding it without watching its sender.
  await ctx.scannerView.watchSender(t.chainId, t.from.address, t.record);
  try {
    await ctx.chain.sendRawTransaction({ serializedTransaction: attempt.rawTx });
  } catch (err) {
    const text = errorText(err);
    if (NO_FUNDS.test(text)) return needsGas(ctx, t, attempt);
    if (BELOW_BASE_FEE.test(text))
      ctx.logger.warn({ txHash: attempt.txHash }, 'payout below the base fee: the node will not take it now');
    else if (ALREADY_THERE.test(text))
      ctx.logger.info(
        { txHash: attempt.txHash, answer: text.slice(0, 200) },
        'payout re-broadcast: already there',
      );
    else throw err;
  }
  await ctx.hooks?.afterBroadcast?.();
  const head = attempt.broadcastBlock ?? (await ctx.chain.getBlockNumber({ cacheTime: 0 }));
  await markAttemptBroadcast(ctx.pool, attempt.id, head);
  await setPayoutRecordStatus(ctx.pool, t.record, 'broadcast');
  return null;
}

/**
 * The node refused the transaction for lack of native coin. It stays signed and live (its nonce is
 * taken: every later transfer of the address waits behind it), so it is never given up here: once the
 * address is funded, calling again broadcasts this same transaction.
 */
async function needsGas(ctx: SendContext, t: OutgoingTransfer, attempt: PayoutAttempt): Promise<SendState> {
  const { value } = parseTransaction(attempt.rawTx);
  const cost = attempt.gasLimit * attempt.maxFeePerGas + (value ?? 0n);
  const balance = await ctx.chain.getBalance({ address: t.from.address });
  // A node may count the sender's other pending transactions too: then the whole cost is missing.
  const shortfall = cost > balance ? cost - balance : cost;
  ctx.logger.warn(
    {
      record: t.record.table,
      id: String(t.record.id),
      from: t.from.address,
      nonce: String(attempt.nonce),
      txHash: attempt.txHash,
      shortfall: String(shortfall),
    },
    'payout refused by the node for lack of gas; it waits for a top-up',
  );
  return {
    status: 'needs_gas',
    txHash: attempt.txHash,
    nonce: attempt.nonce,
    address: t.from.address,
    shortfall,
  };
}

/** The record's attempt the chain mined, and its receipt; newest first, since all share one nonce. */
async function minedAttempt(
  ctx: SendContext,
  record: PayoutRecordRef,
): Promise<{ attempt: PayoutAttempt; receipt: TransactionReceipt } | null> {
  const attempts = await attemptsOf(ctx.pool, record.table, record.id);
  for (const attempt of attempts.reverse()) {
    const receipt = await receiptOf(ctx.chain, attempt.txHash);
    if (receipt) return { attempt, receipt };
  }
  return null;
}

/**
 * Replaces a stuck broadcast attempt: the same call, gas and nonce, both fees at least 12.5 % higher (or
 * the current estimate, if higher), never above the fee cap. Stored (the old one 'replaced') before it is
 * broadcast, like any attempt. Returns the record's live attempt after that, or null when nothing was
 * replaced: not stuck, or at the cap (it then keeps waiting at its fee; the log says so).
 */
async function replaceIfStuck(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
): Promise<PayoutAttempt | null> {
  if (attempt.status !== 'broadcast' || attempt.broadcastBlock === null) return null;
  const [block, spent] = await Promise.all([
    ctx.chain.getBlock({ blockTag: 'latest' }),
    ctx.chain.getTransactionCount({ address: t.from.address, blockTag: 'latest' }),
  ]);
  // Behind an unmined lower nonce it waits for that one (which its own record replaces), not for a fee;
  // past it, the nonce is spent and pendingState finds out by whom.
  if (BigInt(spent) !== attempt.nonce) return null;
  const underpriced = block.baseFeePerGas !== null && attempt.maxFeePerGas < block.baseFeePerGas;
  const waited =
    block.number - attempt.broadcastBlock >= BigInt(ctx.replaceAfterBlocks ?? REPLACE_AFTER_BLOCKS);
  if (!underpriced && !waited) return null;

  const where = { record: t.record.table, id: String(t.record.id), txHash: attempt.txHash };
  const cap = ctx.maxFeePerGas ?? DEFAULT_MAX_FEE_PER_GAS;
  if (bumpFee(attempt.maxFeePerGas) > cap) {
    ctx.logger.error(
      { ...where, maxFeePerGas: String(attempt.maxFeePerGas), cap: String(cap) },
      'payout stuck at the fee cap (PAYOUT_MAX_FEE_PER_GAS_GWEI): not replaced, it waits for lower fees',
    );
    return null;
  }
  const fees = await ctx.chain.estimateFeesPerGas({ type: 'eip1559', chain: ctx.chain.chain ?? null });
  let maxFeePerGas = maxOf(fees.maxFeePerGas, bumpFee(attempt.maxFeePerGas));
  if (maxFeePerGas > cap) maxFeePerGas = cap;
  let maxPriorityFeePerGas = maxOf(fees.maxPriorityFeePerGas, bumpFee(attempt.maxPriorityFeePerGas));
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;

  // Exactly what was signed before, read back from the raw transaction, not rebuilt from the caller's t.
  const signed = parseTransaction(attempt.rawTx);
  if (!sameAddress(attempt.from, t.from.address) || !signed.to)
    throw new Error(
      `sendOnce: attempt ${attempt.id} was not sent by ${t.from.address} to a contract or account`,
    );
  return withTransaction(ctx.pool, async (client) => {
    await lockPayoutRecord(client, t.record);
    const live = await liveAttempt(client, t.record.table, t.record.id);
    // Another process replaced it (or saw it mined) first: that one stands.
    if (!live || live.id !== attempt.id) return live;
    const rawTx = await t.from.signTransaction({
      chainId: t.chainId,
      nonce: Number(attempt.nonce),
      to: signed.to as `0x${string}`,
      value: signed.value ?? 0n,
      ...(signed.data ? { data: signed.data } : {}),
      gas: attempt.gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    const replacement = await insertReplacementAttempt(client, attempt.id, {
      record: t.record,
      chainId: t.chainId,
      from: t.from.address,
      nonce: attempt.nonce,
      txHash: keccak256(rawTx),
      rawTx,
      gasLimit: attempt.gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    ctx.logger.warn(
      {
        ...where,
        nonce: String(attempt.nonce),
        replacement: replacement.txHash,
        maxFeePerGas: String(maxFeePerGas),
        why: underpriced
          ? 'below the base fee'
          : `unmined after ${block.number - (attempt.broadcastBlock ?? 0n)} blocks`,
      },
      'payout stuck: replaced with a higher fee under the same nonce',
    );
    return replacement;
  });
}

/**
 * Not mined yet. If a transaction with this nonce is mined deep enough and it is none of ours, ours can
 * never be: the payout did not happen and a person must look.
 */
async function pendingState(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
): Promise<SendState> {
  const head = await ctx.chain.getBlockNumber({ cacheTime: 0 });
  const deep = head - BigInt(ctx.confirmations) + 1n;
  if (deep >= 0n) {
    const spent = await ctx.chain.getTransactionCount({ address: t.from.address, blockNumber: deep });
    if (BigInt(spent) > attempt.nonce && !(await minedAttempt(ctx, t.record))) {
      const reason = `nonce ${attempt.nonce} of ${t.from.address} was used by another transaction; this payout was not sent`;
      await markFailed(ctx.pool, t.record, reason);
      await ctx.scannerView.unwatchSender(t.chainId, t.from.address, t.record);
      ctx.logger.error({ record: t.record.table, id: String(t.record.id), txHash: attempt.txHash }, reason);
      return { status: 'failed', txHash: null, reason };
    }
  }
  return { status: 'broadcast', txHash: attempt.txHash, nonce: attempt.nonce };
}

/**
 * Records the mined attempt (the others of its nonce 'replaced') and the record's outcome, at once; the
 * record is final, so the scanner no longer needs to watch its sender for it.
 */
async function recordOutcome(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
  failure: string | null,
): Promise<boolean> {
  const changed = await withTransaction(ctx.pool, async (client) => {
    await markAttemptMined(client, t.record, attempt.id);
    return failure === null
      ? markConfirmed(client, t.record, attempt.id, attempt.txHash)
      : markFailed(client, t.record, failure, { attemptId: attempt.id, txHash: attempt.txHash });
  });
  await ctx.scannerView.unwatchSender(t.chainId, t.from.address, t.record);
  return changed;
}

const NO_SCANNER = 'payout waits: no scanner has scanned its chain yet';
const UNSEEN = 'payout waits: the scanner passed its block without seeing it (sender not listed, or pruned)';

/**
 * A waiting payout is looked at about every second: its warnings are logged once a minute per chain (or
 * per transaction), so a stopped scanner is loud without flooding the log.
 */
const lastWarned = new WeakMap<SendContext, Map<string, number>>();
function warnAtMostEveryMinute(ctx: SendContext, key: string, fields: object, msg: string): void {
  const warned = lastWarned.get(ctx) ?? new Map<string, number>();
  lastWarned.set(ctx, warned);
  const now = Date.now();
  if (now - (warned.get(key) ?? 0) < 60_000) return;
  // Only the newest keys matter: a long-running signer must not keep one per transaction for ever.
  if (warned.size > 1000) warned.clear();
  warned.set(key, now);
  ctx.logger.warn(fields, msg);
}

/** What the scanner's view says of a mined, successful transaction. */
type ScannerVerdict =
  | { verdict: 'confirmed' }
  | { verdict: 'wait' }
  | { verdict: 'mismatch'; reason: string };

/**
 * Confirmed when the scanner saw this transaction in the receipt's block, scanned the confirmation count
 * past it, and saw it move what the payout moves. Seen in another block, one of the two has not caught
 * up with a reorg yet: wait. Seen moving something else: a person must look.
 */
async function scannerVerdict(
  ctx: SendContext,
  t: OutgoingTransfer,
  receipt: TransactionReceipt,
): Promise<ScannerVerdict> {
  const { cursor, seen } = await ctx.scannerView.look(t.chainId, receipt.transactionHash);
  const needed = receipt.blockNumber + BigInt(ctx.confirmations) - 1n;
  const where = { record: t.record.table, id: String(t.record.id), txHash: receipt.transactionHash };
  if (cursor === null)
    warnAtMostEveryMinute(ctx, `no-scanner:${t.chainId}`, { ...where, chainId: t.chainId }, NO_SCANNER);
  if (!seen) {
    // Listed again in case Redis lost the list: a rescan from the scanner's checkpoint then sees it.
    await ctx.scannerView.watchSender(t.chainId, t.from.address, t.record);
    if (cursor !== null && cursor >= needed)
      warnAtMostEveryMinute(
        ctx,
        `unseen:${receipt.transactionHash}`,
        { ...where, cursor: String(cursor) },
        UNSEEN,
      );
    return { verdict: 'wait' };
  }
  if (seen.blockHash !== receipt.blockHash.toLowerCase()) return { verdict: 'wait' };
  if (cursor === null || cursor < needed) return { verdict: 'wait' };
  const sawIt = seenMoves(seen, t);
  if (sawIt === null) return { verdict: 'confirmed' };
  return {
    verdict: 'mismatch',
    reason: `the scanner saw another transfer in block ${receipt.blockNumber} than the payout's (${describeTransfer(t)}): ${sawIt}`,
  };
}

/** Null when `seen` moves what `t` pays; otherwise what the scanner saw instead, in words. */
function seenMoves(seen: ObservedTx, t: OutgoingTransfer): string | null {
  const from = t.from.address.toLowerCase();
  const to = t.to.toLowerCase();
  if (t.token === 'native') {
    if (seen.from === from && seen.to === to && seen.value === t.amount) return null;
    return `${seen.value} wei from ${seen.from} to ${seen.to ?? 'a new contract'}`;
  }
  const token = t.token.toLowerCase();
  const match = seen.transfers.some(
    (x) => x.token === token && x.from === from && x.to === to && x.amount === t.amount,
  );
  if (seen.from === from && match) return null;
  const transfers = seen.transfers.map((x) => `${x.amount} of ${x.token} from ${x.from} to ${x.to}`);
  const what = transfers.length > 0 ? transfers.join(', ') : 'no Transfer';
  return `a transaction from ${seen.from} with ${what}`.slice(0, 400);
}

const describeTransfer = (t: OutgoingTransfer): string =>
  `${t.amount} ${t.token === 'native' ? 'wei' : `of ${t.token}`} from ${t.from.address} to ${t.to}`;

async function settle(
  ctx: SendContext,
  t: OutgoingTransfer,
  attempt: PayoutAttempt,
  receipt: TransactionReceipt,
): Promise<SendState> {
  const where = { record: t.record.table, id: String(t.record.id), txHash: attempt.txHash };
  if (receipt.status !== 'success') {
    const reason = `reverted in block ${receipt.blockNumber}${await revertReason(ctx.chain, t, receipt.blockNumber)}`;
    await recordAttemptGas(ctx.pool, attempt.id, receipt);
    await recordOutcome(ctx, t, attempt, reason);
    ctx.logger.error(where, `payout ${reason}`);
    return { status: 'failed', txHash: attempt.txHash, reason };
  }
  const head = await ctx.chain.getBlockNumber({ cacheTime: 0 });
  if (head - receipt.blockNumber + 1n < BigInt(ctx.confirmations))
    return { status: 'broadcast', txHash: attempt.txHash, nonce: attempt.nonce };
  if (t.token !== 'native' && !hasTransferLog(t, receipt)) {
    const reason = `mined, but the receipt has no Transfer(${t.from.address}, ${t.to}, ${t.amount}) log of ${t.token}`;
    await recordAttemptGas(ctx.pool, attempt.id, receipt);
    await recordOutcome(ctx, t, attempt, reason);
    ctx.logger.error(where, `payout ${reason}`);
    return { status: 'failed', txHash: attempt.txHash, reason };
  }
  const scanner = await scannerVerdict(ctx, t, receipt);
  if (scanner.verdict === 'wait')
    return { status: 'broadcast', txHash: attempt.txHash, nonce: attempt.nonce };
  if (scanner.verdict === 'mismatch') {
    await recordAttemptGas(ctx.pool, attempt.id, receipt);
    await recordOutcome(ctx, t, attempt, scanner.reason);
    ctx.logger.error(where, `payout ${scanner.reason}`);
    return { status: 'failed', txHash: attempt.txHash, reason: scanner.reason };
  }
  // What the transaction cost in gas, for the native ledger the reconciliation compares with the chain.
  await recordAttemptGas(ctx.pool, attempt.id, receipt);
  if (await recordOutcome(ctx, t, attempt, null))
    ctx.logger.info({ ...where, blockNumber: String(receipt.blockNumber) }, 'payout confirmed');
  return { status: 'confirmed', txHash: attempt.txHash, blockNumber: receipt.blockNumber };
}

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function hasTransferLog(t: OutgoingTransfer, receipt: TransactionReceipt): boolean {
  const logs = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true });
  return logs.some(
    (log) =>
      sameAddress(log.address, t.token) &&
      sameAddress(log.args.from, t.from.address) &&
      sameAddress(log.args.to, t.to) &&
      log.args.value === t.amount,
  );
}

/**
 * Best effort: replays the call on the state at the end of its block to name why it reverted (the state
 * before its block can miss what earlier transactions of the same block changed).
 */
async function revertReason(chain: PublicClient, t: OutgoingTransfer, blockNumber: bigint): Promise<string> {
  try {
    await chain.call({ account: t.from.address, ...transferCall(t), blockNumber });
    return '';
  } catch (err) {
    return `: ${err instanceof BaseError ? err.shortMessage : String(err)}`.slice(0, 500);
  }
}
