import { type Hex, toHex } from 'viem';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, startAnvil } from '../../../devstack/chain.ts';
import { chainClients } from '../../../devstack/test-chain.ts';
import { BlockUnavailableError, type ChainRpcHandle, createChainRpc } from './chain-rpc.ts';
import { type JsonRpcCall, type RpcProxy, startRpcProxy } from './test-proxy.ts';
import { freshAddress, seedTransferScenario, type TransferScenario } from './test-scenario.ts';
import type { ChainRpcOptions } from './types.ts';

describe('chain reader on anvil', () => {
  let anvil: AnvilHandle;
  let scenario: TransferScenario;
  const opened: Array<{ close(): unknown }> = [];

  const reader = (opts: Partial<ChainRpcOptions> = {}): ChainRpcHandle => {
    const rpc = createChainRpc({ chainId: anvil.chainId, urls: [anvil.rpcUrl], ...opts });
    opened.push(rpc);
    return rpc;
  };
  const proxy = async (...args: Parameters<typeof startRpcProxy>): Promise<RpcProxy> => {
    const p = await startRpcProxy(...args);
    opened.push(p);
    return p;
  };

  beforeAll(async () => {
    anvil = await startAnvil();
    scenario = await seedTransferScenario(anvil.rpcUrl);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  describe('blocks', () => {
    it('reads the head block with full transactions in one JSON-RPC call', async () => {
      const rpc = reader();
      await rpc.latestBlock(); // the first call also checks the endpoint's chain id
      const before = rpc.stats();
      const head = await rpc.latestBlock();
      const after = rpc.stats();

      const { publicClient } = chainClients(anvil.rpcUrl);
      const expected = await publicClient.getBlock({ blockTag: 'latest' });
      expect(head.number).toBe(expected.number);
      expect(head.hash).toBe(expected.hash);
      expect(head.parentHash).toBe(expected.parentHash);
      expect(head.timestamp).toBe(expected.timestamp);
      expect(head.transactions.map((t) => t.hash)).toEqual(expected.transactions);
      expect(after.rpcCalls - before.rpcCalls).toBe(1);
      expect(after.httpRequests - before.httpRequests).toBe(1);
    });

    it('returns blocks in the order asked, with their transactions, as one batched HTTP request', async () => {
      const rpc = reader();
      await rpc.latestBlock();
      const numbers = [
        scenario.nativeTx.blockNumber,
        scenario.deploymentBlock,
        scenario.expected[0]?.blockNumber ?? 0n,
        scenario.toBlock,
        scenario.fromBlock + 1n,
      ];
      const before = rpc.stats();
      const blocks = await rpc.blocksByNumber(numbers);
      const after = rpc.stats();
      expect(after.httpRequests - before.httpRequests).toBe(1);
      expect(after.rpcCalls - before.rpcCalls).toBe(numbers.length);

      const { publicClient } = chainClients(anvil.rpcUrl);
      expect(blocks.map((b) => b.number)).toEqual(numbers);
      for (const block of blocks) {
        const expected = await publicClient.getBlock({
          blockNumber: block.number,
          includeTransactions: true,
        });
        expect(block.hash).toBe(expected.hash);
        expect(block.parentHash).toBe(expected.parentHash);
        expect(block.timestamp).toBe(expected.timestamp);
        expect(block.transactions).toEqual(
          expected.transactions.map((t) => ({
            hash: t.hash,
            from: t.from.toLowerCase(),
            to: t.to ? t.to.toLowerCase() : null,
            value: t.value,
            transactionIndex: t.transactionIndex,
          })),
        );
      }

      const native = blocks[0]?.transactions.find((t) => t.hash === scenario.nativeTx.hash);
      expect(native).toMatchObject({ to: scenario.nativeTx.to, value: scenario.nativeTx.value });
      // A contract creation has no recipient.
      expect(blocks[1]?.transactions.some((t) => t.to === null)).toBe(true);
    });

    it('links consecutive blocks by parent hash', async () => {
      const rpc = reader();
      const numbers = Array.from({ length: 6 }, (_, i) => scenario.fromBlock + BigInt(i));
      const blocks = await rpc.blocksByNumber(numbers);
      for (let i = 1; i < blocks.length; i++) expect(blocks[i]?.parentHash).toBe(blocks[i - 1]?.hash);
    });

    it('splits a long list into HTTP batches of at most maxBatch calls', async () => {
      const rpc = reader({ maxBatch: 2 });
      await rpc.latestBlock();
      const numbers = [5n, 1n, 4n, 2n, 3n];
      const before = rpc.stats();
      const blocks = await rpc.blocksByNumber(numbers);
      const after = rpc.stats();
      expect(blocks.map((b) => b.number)).toEqual(numbers);
      expect(after.httpRequests - before.httpRequests).toBe(3);
      expect(after.rpcCalls - before.rpcCalls).toBe(5);
    });

    it("asks again in halves when a batch's answer passes viem's 10 MB cap", async () => {
      // Each block comes back with 6 MB of padding: two in one answer are too large, one alone is not.
      const padded = await proxy({
        target: anvil.rpcUrl,
        record: true,
        behaviour: {
          kind: 'intercept',
          handle: (call) => {
            const tag = Array.isArray(call.params) ? call.params[0] : undefined;
            if (call.method !== 'eth_getBlockByNumber' || typeof tag !== 'string' || !tag.startsWith('0x')) {
              return undefined;
            }
            return {
              result: {
                number: tag,
                hash: `0x${'11'.repeat(32)}`,
                parentHash: `0x${'22'.repeat(32)}`,
                timestamp: '0x1',
                transactions: [],
                padding: 'x'.repeat(6_000_000),
              },
            };
          },
        },
      });
      const rpc = reader({ urls: [padded.url] });
      const blocks = await rpc.blocksByNumber([7n, 8n]);
      expect(blocks.map((b) => b.number)).toEqual([7n, 8n]);
      // The batch of two was refused by size, then each block was asked alone.
      const asked = padded.recorded.filter((c) => c.method === 'eth_getBlockByNumber').length;
      expect(asked).toBeGreaterThanOrEqual(4);
    });

    it('fails with BlockUnavailableError for a block the node does not have', async () => {
      const rpc = reader();
      await expect(rpc.blocksByNumber([scenario.toBlock + 1_000n])).rejects.toBeInstanceOf(
        BlockUnavailableError,
      );
    });

    it("refuses an endpoint's block shaped wrongly (transaction hashes instead of objects)", async () => {
      const lying = await proxy({
        target: anvil.rpcUrl,
        behaviour: {
          kind: 'intercept',
          handle: (call) =>
            call.method === 'eth_getBlockByNumber'
              ? {
                  result: {
                    number: toHex(scenario.toBlock),
                    hash: `0x${'11'.repeat(32)}`,
                    parentHash: `0x${'22'.repeat(32)}`,
                    timestamp: '0x1',
                    transactions: [`0x${'33'.repeat(32)}`],
                  },
                }
              : undefined,
        },
      });
      const rpc = reader({ urls: [lying.url] });
      await expect(rpc.blocksByNumber([scenario.toBlock])).rejects.toThrow(/malformed block/);
    });
  });

  describe('finalized block', () => {
    it("reads the node's finalized block number", async () => {
      const rpc = reader();
      const finalized = await rpc.finalizedBlockNumber();
      const { publicClient } = chainClients(anvil.rpcUrl);
      const expected = await publicClient.getBlock({ blockTag: 'finalized' });
      expect(finalized).toBe(expected.number);
    });

    it('is null where the node has no finalized tag, and throws when the node cannot be reached', async () => {
      const refusing = await proxy({
        target: anvil.rpcUrl,
        behaviour: {
          kind: 'intercept',
          handle: (call) =>
            call.method === 'eth_getBlockByNumber' &&
            Array.isArray(call.params) &&
            call.params[0] === 'finalized'
              ? { error: { code: -32000, message: 'finalized block not found' } }
              : undefined,
        },
      });
      expect(await reader({ urls: [refusing.url] }).finalizedBlockNumber()).toBeNull();

      const down = await proxy({ target: anvil.rpcUrl, behaviour: { kind: 'http-500' } });
      await expect(reader({ urls: [down.url], timeoutMs: 2_000 }).finalizedBlockNumber()).rejects.toThrow();
    });
  });

  describe('endpoint chain check', () => {
    const wrongChain = (call: JsonRpcCall) => (call.method === 'eth_chainId' ? { result: '0x1' } : undefined);

    it('never uses an endpoint that answers for another chain', async () => {
      const other = await proxy({
        target: anvil.rpcUrl,
        behaviour: { kind: 'intercept', handle: wrongChain },
      });
      const rpc = reader({ urls: [other.url, anvil.rpcUrl] });
      const head = await rpc.latestBlock();
      const logs = await rpc.transferLogs(
        { fromBlock: scenario.fromBlock, toBlock: scenario.toBlock },
        new Set(scenario.watched),
      );
      expect(head.number).toBeGreaterThanOrEqual(scenario.toBlock);
      expect(logs).toEqual(scenario.expected);
      expect([...other.callsByMethod.keys()]).toEqual(['eth_chainId']);
    });

    it('fails when the only endpoint is on another chain', async () => {
      const other = await proxy({
        target: anvil.rpcUrl,
        behaviour: { kind: 'intercept', handle: wrongChain },
      });
      await expect(reader({ urls: [other.url] }).latestBlock()).rejects.toThrow(
        /is on chain 1, expected chain 31337/,
      );
    });
  });

  describe('transfer logs', () => {
    const range = () => ({ fromBlock: scenario.fromBlock, toBlock: scenario.toBlock });
    // 1,000 recipients: the two watched addresses among 998 that never received anything.
    const manyRecipients = () => {
      const set = new Set<string>(scenario.watched);
      while (set.size < 1_000) set.add(freshAddress());
      return set;
    };
    const getLogsCalls = (p: RpcProxy) => p.recorded.filter((c) => c.method === 'eth_getLogs');
    const topicsOf = (call: JsonRpcCall) => (call.params as [{ topics: (Hex | Hex[] | null)[] }])[0].topics;

    it('reads the same transfers block by block by hash, and refuses a block hash the node does not know', async () => {
      const rpc = reader();
      const numbers = [];
      for (let n = scenario.fromBlock; n <= scenario.toBlock; n++) numbers.push(n);
      const blocks = await rpc.blocksByNumber(numbers);
      expect(await rpc.transferLogsInBlocks(blocks, new Set(scenario.watched))).toEqual(scenario.expected);
      // Many recipients: each block's every Transfer, filtered here.
      expect(await rpc.transferLogsInBlocks(blocks, manyRecipients())).toEqual(scenario.expected);
      await expect(
        rpc.transferLogsInBlocks(
          [{ number: scenario.toBlock, hash: `0x${'11'.repeat(32)}` }],
          new Set(scenario.watched),
        ),
      ).rejects.toThrow();
    });

    it('finds transfers to the watched addresses from every token contract, skipping zero-value and other recipients', async () => {
      const logs = await reader().transferLogs(range(), new Set(scenario.watched));
      expect(logs).toEqual(scenario.expected);
      expect(new Set(logs.map((l) => l.token))).toEqual(
        new Set([
          '0x5fbdb2315678afecb367f032d93f642f64180aa3',
          '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
          scenario.foreignToken,
        ]),
      );
      const hashes = new Set(logs.map((l) => l.txHash));
      for (const ignored of scenario.ignoredTxs) expect(hashes.has(ignored)).toBe(false);
      expect(logs.every((l) => l.to === l.to.toLowerCase() && l.from === l.from.toLowerCase())).toBe(true);
    });

    it('accepts recipients in any case and returns nothing for an empty set without calling the node', async () => {
      const rpc = reader();
      const upper = new Set(scenario.watched.map((a) => `0x${a.slice(2).toUpperCase()}`));
      expect(await rpc.transferLogs(range(), upper)).toEqual(scenario.expected);
      const before = rpc.stats().rpcCalls;
      expect(await rpc.transferLogs(range(), new Set())).toEqual([]);
      expect(rpc.stats().rpcCalls).toBe(before);
    });

    it('gives identical results with one chunk, unfiltered small ranges and recipient chunks', async () => {
      const recipients = manyRecipients();

      // One chunk: a single filtered query per range, the recipients as topic2.
      const one = await proxy({ target: anvil.rpcUrl, record: true });
      const viaOne = await reader({ urls: [one.url], recipientChunk: 1_000 }).transferLogs(
        range(),
        recipients,
      );
      const oneCalls = getLogsCalls(one);
      expect(oneCalls).toHaveLength(1);
      expect(topicsOf(oneCalls[0] as JsonRpcCall)[2]).toHaveLength(1_000);

      // Several chunks over a small range: every Transfer in the range, filtered locally.
      const unfiltered = await proxy({ target: anvil.rpcUrl, record: true });
      const viaUnfiltered = await reader({
        urls: [unfiltered.url],
        recipientChunk: 400,
        unfilteredMaxBlocks: 1_000n,
      }).transferLogs(range(), recipients);
      const unfilteredCalls = getLogsCalls(unfiltered);
      expect(unfilteredCalls).toHaveLength(1);
      expect(topicsOf(unfilteredCalls[0] as JsonRpcCall)).toHaveLength(1);

      // Several chunks over a larger range: one filtered query per chunk, sent as one HTTP batch.
      const chunked = await proxy({ target: anvil.rpcUrl, record: true });
      const chunkedRpc = reader({ urls: [chunked.url], recipientChunk: 400, unfilteredMaxBlocks: 1n });
      await chunkedRpc.latestBlock();
      const requestsBefore = chunked.requests;
      const viaChunks = await chunkedRpc.transferLogs(range(), recipients);
      const chunkCalls = getLogsCalls(chunked);
      expect(chunkCalls.map((c) => (topicsOf(c)[2] as Hex[]).length)).toEqual([400, 400, 200]);
      expect(chunked.requests - requestsBefore).toBe(1);

      expect(viaOne).toEqual(scenario.expected);
      expect(viaUnfiltered).toEqual(scenario.expected);
      expect(viaChunks).toEqual(scenario.expected);
    });

    it('never asks the node for a contract address, so unknown tokens are seen', async () => {
      const recorder = await proxy({ target: anvil.rpcUrl, record: true });
      await reader({ urls: [recorder.url] }).transferLogs(range(), new Set(scenario.watched));
      const filters = getLogsCalls(recorder).map((c) => (c.params as [Record<string, unknown>])[0]);
      expect(filters.length).toBeGreaterThan(0);
      for (const filter of filters) expect(filter).not.toHaveProperty('address');
    });

    it('reads a sub-range and a single block exactly', async () => {
      const rpc = reader();
      const watched = new Set(scenario.watched);
      const target = scenario.expected[1];
      if (!target) throw new Error('scenario has no second transfer');
      const single = await rpc.transferLogs(
        { fromBlock: target.blockNumber, toBlock: target.blockNumber },
        watched,
      );
      expect(single).toEqual(scenario.expected.filter((l) => l.blockNumber === target.blockNumber));
      const tail = await rpc.transferLogs(
        { fromBlock: target.blockNumber + 1n, toBlock: scenario.toBlock },
        watched,
      );
      expect(tail).toEqual(scenario.expected.filter((l) => l.blockNumber > target.blockNumber));
    });
  });
});
