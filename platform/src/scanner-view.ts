import { redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * The scanner's view of the payout signer's own transactions, shared through Redis (issue 7,
 * confirmation). The signer lists each record it has a transaction in flight for, with its sender; the
 * scanner reads the senders every tick it scans blocks, records what each of their transactions did in
 * the same atomic write that moves its cursor, and drops the records of blocks a reorg took away. The
 * signer confirms a payout only once the scanner saw the same transfer in the receipt's block and
 * scanned the chain's confirmation count past it. Neither side imports the other: this is the layout.
 */

type Hex = `0x${string}`;

/** The field of the scanner's state hash (`redisKeys.scanState`) holding the last block scanned. */
export const SCAN_CURSOR_FIELD = 'cursor';

/** An ERC-20 Transfer a transaction emitted from its sender (addresses lower-case). */
export interface ObservedTransfer {
  token: Hex;
  from: Hex;
  to: Hex;
  amount: bigint;
}

/** One transaction of a watched sender, as the scanner saw it in a block (lower-case throughout). */
export interface ObservedTx {
  txHash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  from: Hex;
  /** null for a contract creation. */
  to: Hex | null;
  /** The native coin it moved. */
  value: bigint;
  transfers: ObservedTransfer[];
}

const hash32 = z.string().regex(/^0x[0-9a-f]{64}$/) as z.ZodType<Hex>;
const address = z.string().regex(/^0x[0-9a-f]{40}$/) as z.ZodType<Hex>;
const uint = z
  .string()
  .regex(/^\d+$/)
  .transform((s) => BigInt(s));

const observedTxSchema = z.object({
  txHash: hash32,
  blockNumber: uint,
  blockHash: hash32,
  from: address,
  to: address.nullable(),
  value: uint,
  transfers: z.array(z.object({ token: address, from: address, to: address, amount: uint })),
});

/** The stored form: JSON with amounts and block numbers as decimal strings. */
export function encodeObservedTx(tx: ObservedTx): string {
  return JSON.stringify(tx, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Parses a stored observation; one that does not match is an error, never a silent "not seen". */
export function parseObservedTx(text: string): ObservedTx {
  return observedTxSchema.parse(JSON.parse(text));
}

/** A payout record as `payoutsInFlight` names it: its table and id. */
export interface InFlightRecord {
  table: string;
  id: bigint;
}

const inFlightMember = (sender: string, record: InFlightRecord): string =>
  `${sender.toLowerCase()} ${record.table}:${record.id}`;

/** The lower-case senders of the signer's records in flight on a chain: what the scanner watches. */
export async function payoutSenders(redis: Redis, prefix: string, chainId: number): Promise<Set<string>> {
  const members = await redis.zrange(redisKeys(prefix).payoutsInFlight(chainId), '0', '-1');
  const senders = new Set<string>();
  for (const member of members) {
    const sender = member.slice(0, member.indexOf(' '));
    if (/^0x[0-9a-f]{40}$/.test(sender)) senders.add(sender);
  }
  return senders;
}

/** What the signer reads: one transaction's observation and the scanner's cursor, as of one moment. */
export interface ScannerLook {
  /** The last block the scanner scanned; null before its first tick. */
  cursor: bigint | null;
  seen: ObservedTx | null;
}

/** The payout signer's side of the view, for one Redis and prefix (every chain). */
export class ScannerView {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.keys = redisKeys(prefix);
  }

  /**
   * Lists a record's sender as in flight. Called before every broadcast, so the transaction cannot be in
   * a block the scanner read before the sender was listed (the scanner reads the list after the head).
   */
  async watchSender(chainId: number, sender: string, record: InFlightRecord): Promise<void> {
    await this.redis.zadd(this.keys.payoutsInFlight(chainId), Date.now(), inFlightMember(sender, record));
  }

  /** The record is final: its sender stays watched only while another record of it is in flight. */
  async unwatchSender(chainId: number, sender: string, record: InFlightRecord): Promise<void> {
    await this.redis.zrem(this.keys.payoutsInFlight(chainId), inFlightMember(sender, record));
  }

  /**
   * The scanner's observation of `txHash` and its cursor, read in one MULTI: the scanner changes both in
   * one atomic write, so a cursor read separately could belong to a rescan that no longer has the block.
   */
  async look(chainId: number, txHash: string): Promise<ScannerLook> {
    const results = await this.redis
      .multi()
      .hget(this.keys.scanState(chainId), SCAN_CURSOR_FIELD)
      .hget(this.keys.outgoingSeen(chainId), txHash.toLowerCase())
      .exec();
    if (!results) throw new Error('the scanner view read was aborted');
    const [cursorReply, seenReply] = results;
    if (cursorReply?.[0]) throw cursorReply[0];
    if (seenReply?.[0]) throw seenReply[0];
    const cursor = cursorReply?.[1] as string | null;
    const seen = seenReply?.[1] as string | null;
    return {
      cursor: cursor ? BigInt(cursor) : null,
      seen: seen ? parseObservedTx(seen) : null,
    };
  }
}
