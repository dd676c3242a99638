// Shapes of the JSON-RPC answers the reader uses, checked before anything is believed: an endpoint can be
// buggy, behind, or lying, and a malformed answer must fail loudly rather than become a payment.
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import type { ScannedBlock, ScannedTx, TransferLog } from './types.ts';

/** keccak256("Transfer(address,address,uint256)"): shared by ERC-20 and ERC-721. */
export const TRANSFER_TOPIC: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be a hex quantity')
  .transform((s) => BigInt(s));
const smallQuantity = quantity.refine((n) => n <= BigInt(Number.MAX_SAFE_INTEGER), 'is too large');
const hash32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex')
  .transform((s) => s.toLowerCase() as Hex);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address')
  .transform((s) => s.toLowerCase() as Address);
const hexData = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2})*$/, 'must be hex bytes')
  .transform((s) => s.toLowerCase() as Hex);

const rpcTransactionSchema = z.object({
  hash: hash32,
  from: address,
  // Contract creations have no recipient; nodes send null (some omit the field).
  to: address.nullable().optional(),
  value: quantity,
  transactionIndex: smallQuantity,
});

const rpcBlockSchema = z.object({
  number: quantity,
  hash: hash32,
  parentHash: hash32,
  timestamp: quantity,
  // Hash strings here would mean the node ignored the full-transactions flag: refused by the object schema.
  transactions: z.array(rpcTransactionSchema),
});

const rpcBlockHeaderSchema = z.object({ number: quantity });

const rpcLogSchema = z.object({
  address,
  topics: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte topic')),
  data: hexData,
  blockNumber: quantity,
  blockHash: hash32,
  transactionHash: hash32,
  logIndex: smallQuantity,
  removed: z.boolean().optional(),
});

export class RpcDataError extends Error {
  constructor(what: string, issues: string) {
    super(`The RPC endpoint returned malformed ${what}: ${issues}`);
    this.name = 'RpcDataError';
  }
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'} ${i.message}`)
    .join('; ');
}

/** Validates one eth_getBlockByNumber(…, true) answer; `expected` guards against a mixed-up batch. */
export function parseBlock(raw: unknown, expected?: bigint): ScannedBlock {
  const parsed = rpcBlockSchema.safeParse(raw);
  if (!parsed.success) throw new RpcDataError('block', describe(parsed.error));
  const b = parsed.data;
  if (expected !== undefined && b.number !== expected) {
    throw new RpcDataError('block', `asked for block ${expected}, got block ${b.number}`);
  }
  const transactions: ScannedTx[] = b.transactions.map((tx) => ({
    hash: tx.hash,
    from: tx.from,
    to: tx.to ?? null,
    value: tx.value,
    transactionIndex: Number(tx.transactionIndex),
  }));
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, transactions };
}

export function parseBlockNumberOf(raw: unknown): bigint {
  const parsed = rpcBlockHeaderSchema.safeParse(raw);
  if (!parsed.success) throw new RpcDataError('block header', describe(parsed.error));
  return parsed.data.number;
}

/** A topic holding an address: 12 zero bytes then the 20 address bytes; anything else is not one. */
function topicAddress(topic: string): Address | null {
  const lower = topic.toLowerCase();
  if (!lower.startsWith('0x000000000000000000000000')) return null;
  return `0x${lower.slice(26)}` as Address;
}

/**
 * Validates an eth_getLogs answer and keeps the ERC-20 Transfers that count as payments to `watched`
 * (or, with side 'from', as transfers out of `watched`) inside [fromBlock, toBlock]. Skipped: ERC-721
 * Transfers (same topic0, but 4 topics and no data), malformed encodings, logs a reorg removed,
 * zero-value transfers (address-poisoning spam), and anything an endpoint returned outside what was
 * asked (a filter it ignored).
 */
export function parseTransferLogs(
  raw: unknown,
  watched: ReadonlySet<string>,
  fromBlock: bigint,
  toBlock: bigint,
  side: 'to' | 'from' = 'to',
): TransferLog[] {
  const parsed = z.array(rpcLogSchema).safeParse(raw);
  if (!parsed.success) throw new RpcDataError('logs', describe(parsed.error));
  const out: TransferLog[] = [];
  for (const log of parsed.data) {
    if (log.removed === true) continue;
    if (log.topics.length !== 3 || log.topics[0]?.toLowerCase() !== TRANSFER_TOPIC) continue;
    if (log.data.length !== 66) continue;
    if (log.blockNumber < fromBlock || log.blockNumber > toBlock) continue;
    const from = topicAddress(log.topics[1] as string);
    const to = topicAddress(log.topics[2] as string);
    if (from === null || to === null || !watched.has(side === 'to' ? to : from)) continue;
    const amount = BigInt(log.data);
    if (amount === 0n) continue;
    out.push({
      token: log.address,
      from,
      to,
      amount,
      txHash: log.transactionHash,
      logIndex: Number(log.logIndex),
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
    });
  }
  return out;
}

export function compareLogs(a: TransferLog, b: TransferLog): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.logIndex - b.logIndex;
}

/** An address as an eth_getLogs topic value (topic1 the sender, topic2 the recipient). */
export function addressTopic(addr: string): Hex {
  return `0x000000000000000000000000${addr.slice(2).toLowerCase()}` as Hex;
}
