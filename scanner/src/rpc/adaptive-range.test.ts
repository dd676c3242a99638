// eth_getLogs behind a proxy that refuses wide ranges with the error texts real providers use.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, startAnvil } from '../../../devstack/chain.ts';
import { type ChainRpcHandle, createChainRpc } from './chain-rpc.ts';
import { type LogRangeRefusal, type RpcProxy, startRpcProxy } from './test-proxy.ts';
import { seedTransferScenario, type TransferScenario } from './test-scenario.ts';

const LIMIT = 7n;

describe('adaptive eth_getLogs ranges', () => {
  let anvil: AnvilHandle;
  let scenario: TransferScenario;
  const opened: Array<{ close(): unknown }> = [];

  beforeAll(async () => {
    anvil = await startAnvil();
    // Transfers spread over ~100 blocks, so a 7-block cap means many queries.
    scenario = await seedTransferScenario(anvil.rpcUrl, { gapBlocks: 30 });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  async function behindRefusingProxy(
    refusal: LogRangeRefusal,
  ): Promise<{ proxy: RpcProxy; rpc: ChainRpcHandle }> {
    const proxy = await startRpcProxy({
      target: anvil.rpcUrl,
      behaviour: { kind: 'limit-log-range', maxBlocks: LIMIT, refusal },
      record: true,
    });
    const rpc = createChainRpc({ chainId: anvil.chainId, urls: [proxy.url] });
    opened.push(proxy, rpc);
    return { proxy, rpc };
  }

  const range = () => ({ fromBlock: scenario.fromBlock, toBlock: scenario.toBlock });
  const spansAsked = (proxy: RpcProxy) =>
    proxy.recorded
      .filter((c) => c.method === 'eth_getLogs')
      .map((c) => {
        const { fromBlock, toBlock } = (c.params as [{ fromBlock: string; toBlock: string }])[0];
        return BigInt(toBlock) - BigInt(fromBlock) + 1n;
      });

  it('is wide enough that the refusals matter', () => {
    expect(scenario.toBlock - scenario.fromBlock + 1n).toBeGreaterThan(10n * LIMIT);
  });

  it('takes the range a provider suggests ("Try with this block range [0x.., 0x..]") and finds every log', async () => {
    const { proxy, rpc } = await behindRefusingProxy('suggest-range');
    const logs = await rpc.transferLogs(range(), new Set(scenario.watched));
    expect(logs).toEqual(scenario.expected);
    const spans = spansAsked(proxy);
    expect(spans[0]).toBe(scenario.toBlock - scenario.fromBlock + 1n);
    expect(spans[1]).toBe(LIMIT);
    expect(proxy.refusedLogRanges).toBeGreaterThanOrEqual(1);
    expect(rpc.stats().logRange).toBeLessThan(2_000n);
  });

  it('halves on "block range is too large" until the provider accepts, and finds every log', async () => {
    const { proxy, rpc } = await behindRefusingProxy('too-large');
    const logs = await rpc.transferLogs(range(), new Set(scenario.watched));
    expect(logs).toEqual(scenario.expected);
    const spans = spansAsked(proxy);
    const first = scenario.toBlock - scenario.fromBlock + 1n;
    // Every refused width halved, down to the first one the provider accepts.
    const halvings: bigint[] = [];
    let s = first;
    for (; s > LIMIT; s /= 2n) halvings.push(s);
    halvings.push(s);
    expect(spans.slice(0, halvings.length)).toEqual(halvings);
    // At most one growth probe (by half) above the accepted width may be pending.
    expect(rpc.stats().logRange).toBeLessThanOrEqual(LIMIT + LIMIT / 2n + 1n);
  });

  it('keeps a cap the provider names ("exceed maximum block range: N") across calls', async () => {
    const { proxy, rpc } = await behindRefusingProxy('max-range');
    expect(await rpc.transferLogs(range(), new Set(scenario.watched))).toEqual(scenario.expected);
    expect(rpc.stats().logRange).toBe(LIMIT);
    expect(await rpc.transferLogs(range(), new Set(scenario.watched))).toEqual(scenario.expected);
    expect(proxy.refusedLogRanges).toBe(1);
    expect(
      spansAsked(proxy)
        .slice(1)
        .every((s) => s <= LIMIT),
    ).toBe(true);
  });

  it('keeps a learned range for the next call, and grows it back once the provider accepts more', async () => {
    const { proxy, rpc } = await behindRefusingProxy('suggest-range');
    await rpc.transferLogs(range(), new Set(scenario.watched));
    const learned = rpc.stats().logRange;
    proxy.resetCounts();
    // The next call starts from the learned range, not from the 2,000-block default.
    await rpc.transferLogs(range(), new Set(scenario.watched));
    expect(spansAsked(proxy)[0]).toBe(learned);

    proxy.setBehaviour({ kind: 'forward' });
    for (let i = 0; i < 10; i++) {
      expect(await rpc.transferLogs(range(), new Set(scenario.watched))).toEqual(scenario.expected);
    }
    expect(rpc.stats().logRange).toBeGreaterThan(learned);
  });

  it('fails when even a 1-block range is refused', async () => {
    const proxy = await startRpcProxy({
      target: anvil.rpcUrl,
      behaviour: {
        kind: 'intercept',
        handle: (call) =>
          call.method === 'eth_getLogs'
            ? { error: { code: -32603, message: 'upstream unavailable' } }
            : undefined,
      },
      record: true,
    });
    const rpc = createChainRpc({ chainId: anvil.chainId, urls: [proxy.url] });
    opened.push(proxy, rpc);
    await expect(rpc.transferLogs(range(), new Set(scenario.watched))).rejects.toThrow(
      /upstream unavailable/,
    );
    const spans = spansAsked(proxy);
    expect(spans[spans.length - 1]).toBe(1n);
    expect(rpc.stats().logRange).toBe(1n);
  });
});
