// Several endpoints per chain: one that fails (listed first) must not stop the reader from answering.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, startAnvil } from '../../../devstack/chain.ts';
import { type ChainRpcHandle, createChainRpc } from './chain-rpc.ts';
import { type ProxyBehaviour, type RpcProxy, startRpcProxy } from './test-proxy.ts';
import { seedTransferScenario, type TransferScenario } from './test-scenario.ts';
import { ChainRpcError } from './transport.ts';
import type { ChainRpc } from './types.ts';

const TIMEOUT_MS = 400;

describe('fallback across RPC endpoints', () => {
  let anvil: AnvilHandle;
  let scenario: TransferScenario;
  let direct: ChainRpcHandle;
  const opened: Array<{ close(): unknown }> = [];

  beforeAll(async () => {
    anvil = await startAnvil();
    scenario = await seedTransferScenario(anvil.rpcUrl);
    direct = createChainRpc({ chainId: anvil.chainId, urls: [anvil.rpcUrl] });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  });
  afterAll(async () => {
    direct?.close();
    await anvil?.stop();
  });

  async function failingFirst(
    behaviour: ProxyBehaviour,
  ): Promise<{ bad: RpcProxy; good: RpcProxy; rpc: ChainRpc }> {
    const bad = await startRpcProxy({ target: anvil.rpcUrl, behaviour });
    const good = await startRpcProxy({ target: anvil.rpcUrl });
    const rpc = createChainRpc({ chainId: anvil.chainId, urls: [bad.url, good.url], timeoutMs: TIMEOUT_MS });
    opened.push(bad, good, rpc);
    return { bad, good, rpc };
  }

  /** Every read the scan loop makes, compared with a reader on anvil alone. */
  async function expectCorrectAnswers(rpc: ChainRpc): Promise<void> {
    const numbers = Array.from({ length: 8 }, (_, i) => scenario.fromBlock + BigInt(i));
    expect(await rpc.blocksByNumber(numbers)).toEqual(await direct.blocksByNumber(numbers));
    const head = await rpc.latestBlock();
    expect(head).toEqual(await direct.blocksByNumber([head.number]).then((b) => b[0]));
    expect(await rpc.finalizedBlockNumber()).toBe(await direct.finalizedBlockNumber());
    const logs = await rpc.transferLogs(
      { fromBlock: scenario.fromBlock, toBlock: scenario.toBlock },
      new Set(scenario.watched),
    );
    expect(logs).toEqual(scenario.expected);
  }

  it.each<[string, ProxyBehaviour]>([
    ['answers HTTP 500', { kind: 'http-500' }],
    ['closes the socket', { kind: 'close-socket' }],
    ['never answers (times out)', { kind: 'hang' }],
    [
      'returns a JSON-RPC error for every call',
      {
        kind: 'intercept',
        handle: (call) =>
          call.method === 'eth_chainId' ? undefined : { error: { code: -32603, message: 'internal error' } },
      },
    ],
  ])('answers every call correctly when the first endpoint %s', async (_, behaviour) => {
    const { bad, good, rpc } = await failingFirst(behaviour);
    await expectCorrectAnswers(rpc);
    await expectCorrectAnswers(rpc);
    expect(bad.requests).toBeGreaterThan(0);
    expect(good.calls).toBeGreaterThan(0);
    // The refusals were about the endpoint, not the range: the log range did not shrink.
    expect(rpc.stats().logRange).toBe(2_000n);
  });

  it('keeps answering while an endpoint goes down and comes back', async () => {
    const { bad, rpc } = await failingFirst({ kind: 'forward' });
    await expectCorrectAnswers(rpc);
    bad.setBehaviour({ kind: 'close-socket' });
    await expectCorrectAnswers(rpc);
    bad.setBehaviour({ kind: 'forward' });
    await expectCorrectAnswers(rpc);
  });

  it('fails, rather than hangs, when every endpoint is down', async () => {
    const a = await startRpcProxy({ target: anvil.rpcUrl, behaviour: { kind: 'hang' } });
    const b = await startRpcProxy({ target: anvil.rpcUrl, behaviour: { kind: 'http-500' } });
    // Providers put the API key in the URL path: it must not end up in error messages (and so in logs).
    const urls = [`${a.url}/v3/SECRETKEY`, `${b.url}/v3/SECRETKEY`];
    const rpc = createChainRpc({ chainId: anvil.chainId, urls, timeoutMs: TIMEOUT_MS });
    opened.push(a, b, rpc);
    const failures = await Promise.all([
      rpc.latestBlock().then(
        () => null,
        (err: unknown) => err,
      ),
      rpc.blocksByNumber([1n, 2n]).then(
        () => null,
        (err: unknown) => err,
      ),
      rpc.transferLogs({ fromBlock: 1n, toBlock: 2n }, new Set(scenario.watched)).then(
        () => null,
        (err: unknown) => err,
      ),
    ]);
    for (const err of failures) {
      expect(err).toBeInstanceOf(ChainRpcError);
      expect(String((err as Error).message)).toMatch(/failed/);
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('SECRETKEY');
      expect((err as Error).cause).toBeUndefined();
    }
  });
});
