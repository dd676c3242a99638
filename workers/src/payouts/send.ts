import {
  allocateNonce,
  insertPayoutAttempt,
  type Logger,
  liveAttempt,
  lockPayoutRecord,
  markAttemptBroadcast,
  markConfirmed,
  markFailed,
  type PayoutAttempt,
  type Pool,
  payoutRecordState,
  recordAttemptGas,
  setPayoutRecordStatus,
  withTransaction,
} from '@amanat/platform';
import {
  BaseError,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  keccak256,
  type PublicClient,
  parseEventLogs,
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
  logger: Logger;
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
    chain.estimateFeesPerGas({ type: 'eip1559', chain: chain.chain ?? null }),
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
 * re-broadcast and checked, never a second one. Throws on transient trouble (RPC, database): calling
 * again is the retry.
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
  // A transaction signed a moment ago cannot have a receipt yet; an older one may be mined already.
  let receipt = fresh ? null : await receiptOf(ctx.chain, attempt.txHash);
  if (!receipt) {
    try {
      await ctx.chain.sendRawTransaction({ serializedTransaction: attempt.rawTx });
    } catch (err) {
      const text = errorText(err);
      if (NO_FUNDS.test(text)) {
        // The signed transaction stays live: once the address is funded, a re-driven record re-broadcasts it.
        const reason = `the node refused the transaction: insufficient funds in ${t.from.address} (nonce ${attempt.nonce})`;
        await markFailed(ctx.pool, t.record, reason);
        ctx.logger.error({ record: t.record.table, id: String(t.record.id), txHash: attempt.txHash }, reason);
        return { status: 'failed', txHash: attempt.txHash, reason };
      }
      if (!ALREADY_THERE.test(text)) throw err;
      ctx.logger.info(
        { txHash: attempt.txHash, answer: text.slice(0, 200) },
        'payout re-broadcast: already there',
      );
    }
    await ctx.hooks?.afterBroadcast?.();
    await markAttemptBroadcast(ctx.pool, attempt.id);
    await setPayoutRecordStatus(ctx.pool, t.record, 'broadcast');
    receipt = await receiptOf(ctx.chain, attempt.txHash);
  }
  if (!receipt) return pendingState(ctx, t, attempt);
  return settle(ctx, t, attempt, receipt);
}

/**
 * Not mined yet. If a transaction with this nonce is mined deep enough and it is not ours, ours can never
 * be: the payout did not happen and a person must look.
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
    if (BigInt(spent) > attempt.nonce && !(await receiptOf(ctx.chain, attempt.txHash))) {
      const reason = `nonce ${attempt.nonce} of ${t.from.address} was used by another transaction; this payout was not sent`;
      await markFailed(ctx.pool, t.record, reason);
      ctx.logger.error({ record: t.record.table, id: String(t.record.id), txHash: attempt.txHash }, reason);
      return { status: 'failed', txHash: null, reason };
    }
  }
  return { status: 'broadcast', txHash: attempt.txHash, nonce: attempt.nonce };
}

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
    await markFailed(ctx.pool, t.record, reason, { attemptId: attempt.id, txHash: attempt.txHash });
    ctx.logger.error(where, `payout ${reason}`);
    return { status: 'failed', txHash: attempt.txHash, reason };
  }
  const head = await ctx.chain.getBlockNumber({ cacheTime: 0 });
  if (head - receipt.blockNumber + 1n < BigInt(ctx.confirmations))
    return { status: 'broadcast', txHash: attempt.txHash, nonce: attempt.nonce };
  if (t.token !== 'native' && !hasTransferLog(t, receipt)) {
    const reason = `mined, but the receipt has no Transfer(${t.from.address}, ${t.to}, ${t.amount}) log of ${t.token}`;
    await recordAttemptGas(ctx.pool, attempt.id, receipt);
    await markFailed(ctx.pool, t.record, reason, { attemptId: attempt.id, txHash: attempt.txHash });
    ctx.logger.error(where, `payout ${reason}`);
    return { status: 'failed', txHash: attempt.txHash, reason };
  }
  // What the transaction cost in gas, for the native ledger the reconciliation compares with the chain.
  await recordAttemptGas(ctx.pool, attempt.id, receipt);
  if (await markConfirmed(ctx.pool, t.record, attempt.id, attempt.txHash))
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
