import { type Chain, NATIVE_LOG_INDEX } from '@amanat/core';
import {
  createPublicClient,
  type Hex,
  http,
  type PublicClient,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
} from 'viem';
import { z } from 'zod';

/** keccak256("Transfer(address,address,uint256)"): ERC-20 and ERC-721 share it; topic count tells them apart. */
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((a) => a.toLowerCase() as `0x${string}`);

/** What the worker reads back from a receipt: the only source of the facts it records. */
const erc20TransferLog = z.object({
  address,
  logIndex: z.number().int().nonnegative(),
  topics: z.tuple([z.literal(TRANSFER_TOPIC), hex32, hex32]),
  data: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'one 32-byte word'),
});

const topicAddress = (topic: string): `0x${string}` => `0x${topic.slice(26).toLowerCase()}`;

/** One transfer as this worker's own reading of the chain shows it. */
export interface ObservedTransfer {
  chainId: number;
  txHash: Hex;
  logIndex: number;
  token: `0x${string}` | 'native';
  from: `0x${string}`;
  to: `0x${string}`;
  amount: bigint;
  blockNumber: bigint;
  blockHash: Hex;
  blockTimestamp: Date;
  /** Whether the block has reached the chain's confirmation count (or `finalized`). */
  confirmed: boolean;
}

export type Observation =
  | { kind: 'present'; transfer: ObservedTransfer }
  /** Not in the canonical chain (dropped by a reorg, reverted, or never there): nothing may count. */
  | { kind: 'absent'; reason: string }
  /** The endpoint is behind the block the report names: it cannot tell yet; try again later. */
  | { kind: 'behind'; head: bigint };

/** A verification that cannot complete now; the job is retried with backoff. */
export class ChainReadRetry extends Error {
  override name = 'ChainReadRetry';
}

interface Endpoint {
  url: string;
  client: PublicClient;
}

/**
 * Reads payments back from a chain, one client per RPC endpoint. The worker trusts no report: it reads the
 * receipt, the block and the head itself. Where a chain has several endpoints, a confirmed payment must be
 * seen the same way on a second one before it may fund a deal, so one lying endpoint cannot.
 */
export class PaymentChainReader {
  readonly chain: Chain;
  private readonly endpoints: Endpoint[];
  private next = 0;

  constructor(chain: Chain, opts: { timeoutMs?: number } = {}) {
    if (chain.rpcUrls.length === 0) throw new Error(`chain ${chain.chainId} has no RPC URLs`);
    this.chain = chain;
    this.endpoints = chain.rpcUrls.map((url) => ({
      url,
      client: createPublicClient({
        transport: http(url, { timeout: opts.timeoutMs ?? 10_000, retryCount: 1, batch: true }),
      }) as PublicClient,
    }));
  }

  /**
   * The transfer at (txHash, logIndex) as the chain shows it now. With two or more endpoints, a confirmed
   * reading is checked against a second endpoint; a disagreement is retried rather than decided.
   */
  async observe(ref: { txHash: Hex; logIndex: number; blockNumber: bigint }): Promise<Observation> {
    const first = await this.onAnyEndpoint((e) => this.read(e, ref));
    if (
      this.endpoints.length < 2 ||
      first.value.kind === 'behind' ||
      (first.value.kind === 'present' && !first.value.transfer.confirmed)
    ) {
      return first.value;
    }
    // Funding (or un-funding) on one endpoint's word alone would let a single lying node move money.
    const second = await this.onAnyEndpoint((e) => this.read(e, ref), first.index);
    if (!sameObservation(first.value, second.value)) {
      throw new ChainReadRetry(
        `RPC endpoints disagree about ${ref.txHash}/${ref.logIndex} on chain ${this.chain.chainId}: ` +
          `${describe(first.value)} vs ${describe(second.value)}`,
      );
    }
    return first.value;
  }

  /** Runs a read on the endpoints in turn, starting with the next in rotation, skipping `exclude`. */
  private async onAnyEndpoint<T>(
    read: (e: Endpoint) => Promise<T>,
    exclude?: number,
  ): Promise<{ value: T; index: number }> {
    const errors: string[] = [];
    const start = this.next++;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (start + i) % this.endpoints.length;
      if (index === exclude) continue;
      const endpoint = this.endpoints[index] as Endpoint;
      try {
        return { value: await read(endpoint), index };
      } catch (err) {
        errors.push(`${new URL(endpoint.url).host}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    throw new ChainReadRetry(
      `no RPC endpoint of chain ${this.chain.chainId} answered${exclude === undefined ? '' : ' (second opinion)'}: ${errors.join('; ')}`,
    );
  }

  private async read(
    e: Endpoint,
    ref: { txHash: Hex; logIndex: number; blockNumber: bigint },
  ): Promise<Observation> {
    const [receipt, head] = await Promise.all([
      e.client.getTransactionReceipt({ hash: ref.txHash }).catch((err) => {
        if (err instanceof TransactionReceiptNotFoundError) return null;
        throw err;
      }),
      e.client.getBlockNumber({ cacheTime: 0 }),
    ]);
    if (!receipt) {
      // A node that has not reached the reported block cannot say the payment is gone.
      return head < ref.blockNumber ? { kind: 'behind', head } : { kind: 'absent', reason: 'no receipt' };
    }
    if (receipt.status !== 'success') return { kind: 'absent', reason: 'transaction reverted' };

    const [block, finalized] = await Promise.all([
      e.client.getBlock({ blockNumber: receipt.blockNumber }),
      this.chain.finality === 'finalized'
        ? e.client.getBlock({ blockTag: 'finalized' }).then((b) => b.number)
        : Promise.resolve(null),
    ]);
    // A receipt from a block that is no longer canonical (a node that has not dropped it yet) is not a fact.
    if (block.hash !== receipt.blockHash) return { kind: 'absent', reason: 'receipt block is not canonical' };
    const confirmed =
      this.chain.finality === 'finalized'
        ? finalized !== null && receipt.blockNumber <= finalized
        : head - receipt.blockNumber + 1n >= BigInt(this.chain.confirmations);
    const common = {
      chainId: this.chain.chainId,
      txHash: receipt.transactionHash,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      blockTimestamp: new Date(Number(block.timestamp) * 1000),
      confirmed,
    };

    if (ref.logIndex === NATIVE_LOG_INDEX) {
      const tx = await e.client.getTransaction({ hash: ref.txHash }).catch((err) => {
        if (err instanceof TransactionNotFoundError) return null;
        throw err;
      });
      if (!tx?.to || tx.value <= 0n) return { kind: 'absent', reason: 'no native value transferred' };
      return {
        kind: 'present',
        transfer: {
          ...common,
          logIndex: NATIVE_LOG_INDEX,
          token: 'native',
          from: tx.from.toLowerCase() as `0x${string}`,
          to: tx.to.toLowerCase() as `0x${string}`,
          amount: tx.value,
        },
      };
    }

    const raw = receipt.logs.find((l) => l.logIndex === ref.logIndex);
    const log = erc20TransferLog.safeParse(raw);
    if (!log.success) return { kind: 'absent', reason: 'no ERC-20 Transfer at that log index' };
    return {
      kind: 'present',
      transfer: {
        ...common,
        logIndex: log.data.logIndex,
        token: log.data.address,
        from: topicAddress(log.data.topics[1]),
        to: topicAddress(log.data.topics[2]),
        // What the log says arrived: a fee-on-transfer token credits less than was sent.
        amount: BigInt(log.data.data),
      },
    };
  }
}

const sameObservation = (a: Observation, b: Observation): boolean => {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'present' || b.kind !== 'present') return true;
  const x = a.transfer;
  const y = b.transfer;
  return (
    x.blockHash === y.blockHash &&
    x.token === y.token &&
    x.to === y.to &&
    x.from === y.from &&
    x.amount === y.amount &&
    x.confirmed === y.confirmed
  );
};

const describe = (o: Observation): string =>
  o.kind === 'present'
    ? `${o.transfer.amount} of ${o.transfer.token} to ${o.transfer.to} in ${o.transfer.blockHash}${o.transfer.confirmed ? ' (confirmed)' : ''}`
    : o.kind === 'absent'
      ? `absent (${o.reason})`
      : `behind at ${o.head}`;
