// The contract between the scan loop and the chain reader: plain data, no viem objects leak through.
import type { Address, Hex } from 'viem';

export interface ScannedTx {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: bigint;
  transactionIndex: number;
}

export interface ScannedBlock {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  transactions: ScannedTx[];
}

/** A decoded ERC-20 Transfer log to (or from) one of the requested addresses (addresses lower-cased). */
export interface TransferLog {
  token: Address;
  from: Address;
  to: Address;
  amount: bigint;
  txHash: Hex;
  logIndex: number;
  blockNumber: bigint;
  blockHash: Hex;
}

export interface BlockRange {
  fromBlock: bigint;
  toBlock: bigint;
}

export interface RpcLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ChainRpc {
  readonly chainId: number;
  /** The head block with full transactions: one JSON-RPC call. */
  latestBlock(): Promise<ScannedBlock>;
  /** Blocks with full transactions, in the order asked, as one batched HTTP request (split into batches of at most `maxBatch`). */
  blocksByNumber(numbers: readonly bigint[]): Promise<ScannedBlock[]>;
  /** The chain's `finalized` block number, or null where the node has no such tag. */
  finalizedBlockNumber(): Promise<bigint | null>;
  /** Transfer logs in the range whose recipient is in `recipients` (lower-case), from ANY contract, ordered by (blockNumber, logIndex). */
  transferLogs(range: BlockRange, recipients: ReadonlySet<string>): Promise<TransferLog[]>;
  /**
   * The same, for blocks named by hash (one `eth_getLogs` by `blockHash` each, sent as one batch). Near the
   * head this is what the scanner uses: an endpoint that has not seen a block refuses its hash, where a
   * range query past its head would silently answer with fewer logs.
   */
  transferLogsInBlocks(
    blocks: ReadonlyArray<{ number: bigint; hash: Hex }>,
    recipients: ReadonlySet<string>,
  ): Promise<TransferLog[]>;
  /**
   * Transfer logs whose sender (topic1) is one of each block's `senders` (lower-case), for blocks named by
   * hash (one `eth_getLogs` by `blockHash` each, sent as one batch): the outgoing transfers of the payout
   * signer's addresses, asked only for blocks that hold a transaction of theirs.
   */
  transferLogsFromInBlocks(
    blocks: ReadonlyArray<{ number: bigint; hash: Hex; senders: readonly string[] }>,
  ): Promise<TransferLog[]>;
  /** Counters for the benchmark and health: JSON-RPC calls sent, HTTP requests sent, log range now in use. */
  stats(): { rpcCalls: number; httpRequests: number; logRange: bigint };
}

export interface ChainRpcOptions {
  chainId: number;
  urls: readonly string[];
  /** Per HTTP request, per endpoint. Default 10 s. */
  timeoutMs?: number;
  /** Most JSON-RPC calls in one HTTP batch. Default 25: full blocks are large, and viem refuses answers over 10 MB. */
  maxBatch?: number;
  /** Most recipients in one filtered eth_getLogs (topic2 OR-list). Default 500. */
  recipientChunk?: number;
  /** Starting (and largest) eth_getLogs block range. Default 2,000. */
  maxLogRange?: bigint;
  /**
   * Ranges up to this many blocks fetch every Transfer unfiltered when the recipients need several chunks.
   * Default 10; 0 turns the unfiltered query off.
   */
  unfilteredMaxBlocks?: bigint;
  logger?: RpcLogger;
}
