import type { Hex } from 'viem';

/**
 * The payout signer's contract between its parts (issue 7). `send.ts` moves one record's money exactly
 * once; `execute.ts` decides, per (deal, cause), what to send, in which order, and when the deal is paid.
 */

/** A record whose money goes out in one transaction: a payout leg or a gas top-up. */
export interface OutgoingTransfer {
  record: { table: 'payout_legs' | 'gas_topups'; id: bigint };
  chainId: number;
  /** The sending account: a deposit address's key, or the gas tank's. */
  from: SignerAccount;
  /** EIP-55; already checked against the address frozen in the deal (or the configured fee address). */
  to: `0x${string}`;
  /** 'native', or the token's contract address. */
  token: 'native' | `0x${string}`;
  amount: bigint;
}

/** What `sendOnce` knows about a record's transaction after a call. */
export type SendState =
  /** Stored and broadcast (or re-broadcast); not yet at the chain's confirmation count. */
  | { status: 'broadcast'; txHash: Hex; nonce: bigint }
  /**
   * Mined with success, at least the chain's confirmation count deep, and seen by the scanner moving the
   * same transfer in the same block, its cursor that count past it.
   */
  | { status: 'confirmed'; txHash: Hex; blockNumber: bigint }
  /**
   * The node refused the signed transaction: its sender lacks the native coin for gas × max fee (+ value).
   * The record stays signed; once about `shortfall` more wei is at `address`, calling again broadcasts
   * the same transaction (nonce included).
   */
  | { status: 'needs_gas'; txHash: Hex; nonce: bigint; address: `0x${string}`; shortfall: bigint }
  /** Mined but reverted, or its nonce taken by another transaction: a human must look. */
  | { status: 'failed'; txHash: Hex | null; reason: string };

/** A key the signer holds; the private key never leaves this object and is never logged. */
export interface SignerAccount {
  address: `0x${string}`;
  signTransaction(tx: {
    chainId: number;
    nonce: number;
    to: `0x${string}`;
    value: bigint;
    data?: Hex;
    gas: bigint;
    maxFeePerGas: bigint;
    maxPriorityFeePerGas: bigint;
  }): Promise<Hex>;
}
