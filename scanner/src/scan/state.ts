import type { Address, Hex } from 'viem';
import { z } from 'zod';

/** One incoming transfer the scanner saw in a block it still remembers. */
export interface StoredPayment {
  txHash: Hex;
  /** NATIVE_LOG_INDEX (-1) for a native-coin transfer. */
  logIndex: number;
  from: Address;
  to: Address;
  token: Address | 'native';
  amount: bigint;
  /** `payment.confirmed` was emitted for it (in this block). */
  confirmed: boolean;
}

export interface StoredBlock {
  number: bigint;
  hash: Hex;
  payments: StoredPayment[];
}

/** A chain's scan cursor, as kept in Redis (one document, replaced with a compare-and-set). */
export interface ScanState {
  /**
   * The last block scanned. Its hash is null when there is no stored chain to link to (a fresh start or
   * a restore from the file checkpoint): the next block is then taken without a parent-hash check.
   */
  cursor: { number: bigint; hash: Hex | null };
  /**
   * The last blocks scanned, ascending and contiguous, ending with the cursor's block: the hashes a reorg
   * is checked against, and the payments that may still be reorged or still await their confirmations.
   */
  recent: StoredBlock[];
  /** The last block scanned for cold (old) deposit addresses. */
  coldCursor: bigint;
  /** The tick count when the cold scan last caught up with the confirmed blocks. */
  coldRanAtTick: number;
}

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const address = z.string().regex(/^0x[0-9a-f]{40}$/);
const uint = z
  .string()
  .regex(/^\d+$/)
  .transform((s) => BigInt(s));
// A cursor sits one block before where scanning starts, so it is -1 before block 0.
const blockBefore = z
  .string()
  .regex(/^(-1|\d+)$/)
  .transform((s) => BigInt(s));

const storedDocSchema = z.object({
  cursor: z.object({ number: blockBefore, hash: hex32.nullable() }),
  recent: z.array(
    z.object({
      number: uint,
      hash: hex32,
      payments: z.array(
        z.object({
          txHash: hex32,
          logIndex: z.number().int().min(-1),
          from: address,
          to: address,
          token: z.union([address, z.literal('native')]),
          amount: uint,
          confirmed: z.boolean(),
        }),
      ),
    }),
  ),
  coldCursor: blockBefore,
  coldRanAtTick: z.number().int().nonnegative(),
});

/** Bigints as decimal strings; hashes and addresses are lower-case already. */
export function serializeState(state: ScanState): string {
  return JSON.stringify(state, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Parses a stored document; a document that does not match is an error, never a silent restart. */
export function parseState(doc: string): ScanState {
  return storedDocSchema.parse(JSON.parse(doc)) as ScanState;
}

/** How many recent blocks to remember: enough to outlast the confirmation depth with a margin. */
export const recentBlocksToKeep = (confirmations: number): number => Math.max(64, confirmations + 32);

/**
 * The block a rescan must start from so that every payment the state still tracks is seen again: the
 * oldest remembered block (it holds every unconfirmed payment), or the next block when none is left.
 */
export function resumeBlock(state: ScanState): bigint {
  return state.recent[0]?.number ?? state.cursor.number + 1n;
}

/** A state that scans `from` next, with nothing remembered yet. */
export function freshState(from: bigint, coldCursor = from - 1n): ScanState {
  return { cursor: { number: from - 1n, hash: null }, recent: [], coldCursor, coldRanAtTick: 0 };
}
