import { redisKeys } from '@amanat/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../../devstack/chain.ts';
import { BUYER, mine, OTHER, reorg, sendNative, sendToken } from '../../../devstack/test-chain.ts';
import { createChainRpc } from '../rpc/index.ts';
import { startRpcProxy } from '../rpc/test-proxy.ts';
import { freshAddress } from '../rpc/test-scenario.ts';
import { readCheckpoint } from './checkpoint.ts';
import {
  CONFIRMATIONS,
  eventsFor,
  type ScanHarness,
  sentNative,
  sentToken,
  startScanHarness,
} from './testing.ts';
import { scanTick } from './tick.ts';

const USDT = DEMO_TOKENS.usdt.address;
const USDC = DEMO_TOKENS.usdc.address;

describe('scan tick on anvil', () => {
  let h: ScanHarness;

  beforeAll(async () => {
    h = await startScanHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const tick = (over: Parameters<ScanHarness['deps']>[0] = {}) => scanTick(h.deps(over));
  const head = () => h.chain.publicClient.getBlockNumber({ cacheTime: 0 });

  it('reports token and native transfers to a hot address at inclusion and once confirmed, exactly once', async () => {
    await tick(); // starts at the head
    const hot = freshAddress();
    const stranger = freshAddress();
    await h.watchHot(hot);

    const token = sentToken(await sendToken(h.chain, USDT, hot, 5_000_000n));
    const native = sentNative(await sendNative(h.chain, hot, 10n ** 15n));
    // Not ours to report: another recipient, and zero-value transfers (address poisoning).
    await sendToken(h.chain, USDC, stranger, 7n);
    await sendNative(h.chain, stranger, 1n);
    await sendToken(h.chain, USDT, hot, 0n);
    await sendNative(h.chain, hot, 0n);

    const first = await tick();
    expect(first.idle).toBe(false);
    let events = await h.events();
    expect(eventsFor(events, token)).toEqual([`payment.detected@${token.blockHash}`]);
    expect(eventsFor(events, native)).toEqual([`payment.detected@${native.blockHash}`]);
    expect(events).toHaveLength(2);
    const detected = events.find((e) => e.data.txHash === token.txHash)?.data;
    expect(detected).toMatchObject({
      chainId: h.anvil.chainId,
      blockNumber: String(token.blockNumber),
      from: BUYER.address.toLowerCase(),
      to: hot,
      token: USDT.toLowerCase(),
      amount: '5000000',
      confirmations: Number((await head()) - token.blockNumber + 1n),
    });
    expect(events.find((e) => e.data.txHash === native.txHash)?.data).toMatchObject({
      token: 'native',
      logIndex: -1,
      amount: String(10n ** 15n),
    });

    // Nothing new on the chain: the tick reads the head and stops.
    const before = h.rpc.stats().rpcCalls;
    expect((await tick()).idle).toBe(true);
    expect(h.rpc.stats().rpcCalls - before).toBe(1);

    // One block short of the confirmation count for the native payment (the later of the two).
    await mine(h.chain, Number(native.blockNumber + BigInt(CONFIRMATIONS) - 2n - (await head())));
    await tick();
    events = await h.events();
    expect(eventsFor(events, native)).toEqual([`payment.detected@${native.blockHash}`]);
    expect(eventsFor(events, token)).toEqual(
      [`payment.confirmed@${token.blockHash}`, `payment.detected@${token.blockHash}`].sort(),
    );

    await mine(h.chain, 1);
    await tick();
    await mine(h.chain, 5);
    await tick();
    events = await h.events();
    expect(eventsFor(events, native)).toEqual(
      [`payment.confirmed@${native.blockHash}`, `payment.detected@${native.blockHash}`].sort(),
    );
    expect(eventsFor(events, token)).toHaveLength(2);
    expect(events).toHaveLength(4);
    const confirmed = events.find((e) => e.type === 'payment.confirmed' && e.data.txHash === native.txHash);
    expect(confirmed?.data.confirmations).toBe(CONFIRMATIONS);
    // Job ids are the deterministic event ids.
    for (const e of events) expect(e.jobId).toBe(e.eventId);
  });

  it('emits payment.reorged for a payment a reorg removes, and never confirms it', async () => {
    await tick();
    await mine(h.chain, 5);
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const token = sentToken(await sendToken(h.chain, USDT, hot, 1_000_000n));
    await mine(h.chain, 1);
    await tick();
    expect(eventsFor(await h.events(), token)).toEqual([`payment.detected@${token.blockHash}`]);

    await reorg(h.chain, 3, []);
    const report = await tick();
    expect(report.reorgs).toBe(1);
    await mine(h.chain, CONFIRMATIONS + 2);
    await tick();
    expect(eventsFor(await h.events(), token)).toEqual(
      [`payment.detected@${token.blockHash}`, `payment.reorged@${token.blockHash}`].sort(),
    );
    const reorged = (await h.events()).find((e) => e.type === 'payment.reorged');
    expect(reorged?.data).toMatchObject({ blockNumber: String(token.blockNumber), amount: '1000000' });
  });

  it('a reorg that moves the transaction into another block: reorged there, detected again here', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const wallet = h.chain.wallet(OTHER);
    const request = await wallet.prepareTransactionRequest({ to: hot, value: 12_345n, chain: null });
    // viem's prepared-request type does not narrow back to a signable one.
    const raw = await wallet.signTransaction(request as never);
    const hash = await h.chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
    const original = sentNative(await h.chain.publicClient.waitForTransactionReceipt({ hash }));
    await tick();

    // Replaces the transaction's block and the next one; the transaction lands in the second new block.
    await mine(h.chain, 1);
    await reorg(h.chain, 2, [[raw, 1]]);
    const moved = sentNative(await h.chain.publicClient.getTransactionReceipt({ hash }));
    expect(moved.blockHash).not.toBe(original.blockHash);
    await tick();
    await mine(h.chain, CONFIRMATIONS);
    await tick();

    expect(eventsFor(await h.events(), original)).toEqual(
      [
        `payment.detected@${original.blockHash}`,
        `payment.reorged@${original.blockHash}`,
        `payment.detected@${moved.blockHash}`,
        `payment.confirmed@${moved.blockHash}`,
      ].sort(),
    );
  });

  it('a reorg deeper than the remembered blocks reports every remembered payment as reorged', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    await mine(h.chain, 30);
    const token = sentToken(await sendToken(h.chain, USDT, hot, 77n));
    await mine(h.chain, 5);
    await tick();
    await reorg(h.chain, 80, []);
    const report = await tick();
    expect(report.reorgs).toBe(1);
    expect(report.cursor).toBe(await head());
    expect(eventsFor(await h.events(), token)).toEqual(
      [`payment.detected@${token.blockHash}`, `payment.reorged@${token.blockHash}`].sort(),
    );
  });

  it('finds cold addresses on the slower schedule and reports them as confirmed', async () => {
    const every = 3;
    const coldTick = () => tick({ coldEveryTicks: every });
    await coldTick(); // tick 1
    const cold = freshAddress();
    await h.watchCold(cold);
    const token = sentToken(await sendToken(h.chain, USDT, cold, 2_000_000n));
    await mine(h.chain, CONFIRMATIONS);

    const second = await coldTick(); // tick 2: scanned, but the cold scan is not due
    expect(second.scanned.length).toBeGreaterThan(0);
    expect(second.cold).toEqual([]);
    expect(eventsFor(await h.events(), token)).toEqual([]);

    const third = await coldTick(); // tick 3: due
    expect(third.cold.length).toBeGreaterThan(0);
    expect(eventsFor(await h.events(), token)).toEqual([`payment.confirmed@${token.blockHash}`]);
    const event = (await h.events()).find((e) => e.data.txHash === token.txHash);
    expect(event?.data.confirmations).toBeGreaterThanOrEqual(CONFIRMATIONS);

    // The next cold run is `every` ticks later.
    const later = sentToken(await sendToken(h.chain, USDC, cold, 3n));
    await mine(h.chain, CONFIRMATIONS);
    await coldTick(); // 4
    await coldTick(); // 5
    expect(eventsFor(await h.events(), later)).toEqual([]);
    await coldTick(); // 6
    expect(eventsFor(await h.events(), later)).toEqual([`payment.confirmed@${later.blockHash}`]);
    // Native coin to a cold address is seen in the block's transactions like a hot one.
    const native = sentNative(await sendNative(h.chain, cold, 5n));
    await coldTick();
    expect(eventsFor(await h.events(), native)).toEqual([`payment.detected@${native.blockHash}`]);
  });

  it('a crash between enqueueing and writing the cursor repeats the same event ids and skips nothing', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const a = sentToken(await sendToken(h.chain, USDT, hot, 11n));
    const b = sentNative(await sendNative(h.chain, hot, 22n));
    await mine(h.chain, 2);

    let crashes = 0;
    await expect(
      tick({
        hooks: {
          beforeCommit: (step) => {
            if (step.kind === 'blocks' && step.events.length > 0) {
              crashes++;
              throw new Error('killed after enqueue');
            }
          },
        },
      }),
    ).rejects.toThrow('killed after enqueue');
    expect(crashes).toBe(1);
    const afterCrash = await h.events();
    expect(afterCrash.map((e) => e.type)).toEqual(['payment.detected', 'payment.detected']);

    const redone = await tick();
    expect(redone.events.detected).toBe(2); // the same facts, emitted again...
    const events = await h.events();
    expect(events.map((e) => e.jobId).sort()).toEqual(afterCrash.map((e) => e.jobId).sort()); // ...as no-ops
    expect(eventsFor(events, a)).toEqual([`payment.detected@${a.blockHash}`]);
    expect(eventsFor(events, b)).toEqual([`payment.detected@${b.blockHash}`]);
    expect(redone.cursor).toBe(await head());

    await mine(h.chain, CONFIRMATIONS);
    await tick();
    const final = await h.events();
    expect(eventsFor(final, a)).toHaveLength(2);
    expect(eventsFor(final, b)).toHaveLength(2);
    expect(final).toHaveLength(4);
  });

  it('after Redis lost the scan state and the queue, resumes from the file checkpoint and misses nothing', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const pending = sentToken(await sendToken(h.chain, USDT, hot, 33n));
    await tick();
    expect(eventsFor(await h.events(), pending)).toEqual([`payment.detected@${pending.blockHash}`]);
    const checkpoint = await readCheckpoint(h.checkpointDir, h.anvil.chainId);
    expect(checkpoint?.resumeFrom).toBeLessThanOrEqual(pending.blockNumber);

    // Redis loses everything the scanner wrote (the watch set is rebuilt by the workers from PostgreSQL).
    await h.redis.redis.del(redisKeys(h.redis.prefix).scanState(h.anvil.chainId));
    await h.callbacks.obliterate({ force: true });
    const later = sentNative(await sendNative(h.chain, hot, 44n));
    await mine(h.chain, CONFIRMATIONS);

    const resumed = await tick();
    expect(resumed.startedFrom).toBe('checkpoint');
    const events = await h.events();
    expect(eventsFor(events, pending)).toEqual(
      [`payment.confirmed@${pending.blockHash}`, `payment.detected@${pending.blockHash}`].sort(),
    );
    expect(eventsFor(events, later)).toEqual(
      [`payment.confirmed@${later.blockHash}`, `payment.detected@${later.blockHash}`].sort(),
    );
  });

  it('the checkpoint waits for events the API has not acknowledged, however far the cursor moved on', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const paid = sentToken(await sendToken(h.chain, USDT, hot, 77n));
    await mine(h.chain, CONFIRMATIONS);
    await tick();
    // Far past the blocks the state remembers, while the API is unreachable: nothing was delivered.
    await mine(h.chain, 200);
    await tick();
    const checkpoint = await readCheckpoint(h.checkpointDir, h.anvil.chainId);
    expect(checkpoint?.resumeFrom).toBe(paid.blockNumber);

    // Redis loses the state and the queued, undelivered events: the rescan brings them back.
    await h.redis.redis.del(
      redisKeys(h.redis.prefix).scanState(h.anvil.chainId),
      redisKeys(h.redis.prefix).undeliveredEvents(h.anvil.chainId),
    );
    await h.callbacks.obliterate({ force: true });
    expect(await h.events()).toEqual([]);
    const resumed = await tick();
    expect(resumed.startedFrom).toBe('checkpoint');
    expect(eventsFor(await h.events(), paid)).toEqual(
      [`payment.confirmed@${paid.blockHash}`, `payment.detected@${paid.blockHash}`].sort(),
    );
  });

  it('with neither state nor checkpoint, starts at the configured start block', async () => {
    const hot = freshAddress();
    await h.watchHot(hot);
    const early = sentToken(await sendToken(h.chain, USDT, hot, 55n));
    await mine(h.chain, 3);
    const report = await tick({ startBlock: early.blockNumber - 1n });
    expect(report.startedFrom).toBe('start-block');
    expect(report.scanned[0]?.fromBlock).toBe(early.blockNumber - 1n);
    expect(eventsFor(await h.events(), early)).toEqual([`payment.detected@${early.blockHash}`]);
  });

  it('catches up in bounded steps within one tick and covers every block once', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    await mine(h.chain, 40);
    const payment = sentToken(await sendToken(h.chain, USDT, hot, 66n));
    await mine(h.chain, 40);
    const report = await tick({ blocksPerStep: 16 });
    expect(report.scanned.length).toBeGreaterThan(1);
    for (const [i, r] of report.scanned.entries()) {
      expect(r.toBlock - r.fromBlock + 1n).toBeLessThanOrEqual(16n);
      const prev = report.scanned[i - 1];
      if (prev) expect(r.fromBlock).toBe(prev.toBlock + 1n);
    }
    expect(report.cursor).toBe(await head());
    expect(eventsFor(await h.events(), payment)).toEqual(
      [`payment.confirmed@${payment.blockHash}`, `payment.detected@${payment.blockHash}`].sort(),
    );
  });

  it('refuses to advance a cursor another scanner advanced meanwhile', async () => {
    await tick();
    await mine(h.chain, 2);
    const key = redisKeys(h.redis.prefix).scanState(h.anvil.chainId);
    await expect(
      tick({
        hooks: {
          beforeCommit: async () => {
            // Another scanner's write lands between this tick's read and its write.
            await h.redis.redis.hset(key, 'version', 'someone-else');
          },
        },
      }),
    ).rejects.toThrow(/another scanner/);
  });

  it("waits for the node's finalized block where the chain is configured for finality", async () => {
    const finalized = { ...h.chainConfig, confirmations: 2, finality: 'finalized' as const };
    await tick({ chain: finalized });
    const hot = freshAddress();
    await h.watchHot(hot);
    const token = sentToken(await sendToken(h.chain, USDT, hot, 88n));
    await mine(h.chain, 10); // far past 2 confirmations, but anvil finalizes 64 blocks behind its head
    await tick({ chain: finalized });
    expect(eventsFor(await h.events(), token)).toEqual([`payment.detected@${token.blockHash}`]);
    await mine(h.chain, 60);
    await tick({ chain: finalized });
    expect(eventsFor(await h.events(), token)).toEqual(
      [`payment.confirmed@${token.blockHash}`, `payment.detected@${token.blockHash}`].sort(),
    );
  });

  it('does not skip a payment when the endpoint serving logs lags behind the one serving blocks', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    // A lagging node: ranges past its head come back empty (as anvil and geth do), block hashes it has
    // not seen yet are refused. It catches up after a few refusals.
    let refusals = 0;
    const lagging = await startRpcProxy({
      target: h.anvil.rpcUrl,
      behaviour: {
        kind: 'intercept',
        handle: (call) => {
          if (call.method !== 'eth_getLogs') return undefined;
          const [filter] = call.params as [{ blockHash?: string }];
          if (!filter.blockHash) return { result: [] };
          if (refusals < 3) {
            refusals++;
            return { error: { code: -32000, message: 'unknown block' } };
          }
          return undefined;
        },
      },
    });
    const rpc = createChainRpc({ chainId: h.anvil.chainId, urls: [lagging.url] });
    try {
      const token = sentToken(await sendToken(h.chain, USDT, hot, 66n));
      for (let i = 0; i < 5; i++) await tick({ rpc }).catch(() => {});
      expect(refusals).toBe(3);
      expect(eventsFor(await h.events(), token)).toEqual([`payment.detected@${token.blockHash}`]);
    } finally {
      rpc.close();
      await lagging.close();
    }
  });

  it("keeps scanning through an endpoint that fails, on the chain's other endpoint", async () => {
    const broken = await startRpcProxy({ target: h.anvil.rpcUrl, behaviour: { kind: 'http-500' } });
    const rpc = createChainRpc({
      chainId: h.anvil.chainId,
      urls: [broken.url, h.anvil.rpcUrl],
      timeoutMs: 2_000,
    });
    try {
      await tick({ rpc });
      const hot = freshAddress();
      await h.watchHot(hot);
      const token = sentToken(await sendToken(h.chain, USDT, hot, 99n));
      await mine(h.chain, CONFIRMATIONS);
      const report = await tick({ rpc });
      expect(report.cursor).toBe(await head());
      expect(broken.requests).toBeGreaterThan(0);
      expect(eventsFor(await h.events(), token)).toEqual(
        [`payment.confirmed@${token.blockHash}`, `payment.detected@${token.blockHash}`].sort(),
      );
    } finally {
      rpc.close();
      await broken.close();
    }
  });

  it('does not commit blocks whose logs came from another fork, and scans them on a later tick', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const token = sentToken(await sendToken(h.chain, USDT, hot, 111n));
    // An endpoint that answers eth_getLogs as if the block held another hash (a node on another fork).
    let lie = true;
    const forked = await startRpcProxy({
      target: h.anvil.rpcUrl,
      behaviour: {
        kind: 'intercept',
        handle: async (call) => {
          if (call.method !== 'eth_getLogs' || !lie) return undefined;
          const res = await fetch(h.anvil.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...call, jsonrpc: '2.0' }),
          });
          const { result } = (await res.json()) as { result: Array<{ blockHash: string }> };
          return { result: result.map((log) => ({ ...log, blockHash: `0x${'ee'.repeat(32)}` })) };
        },
      },
    });
    const rpc = createChainRpc({ chainId: h.anvil.chainId, urls: [forked.url] });
    try {
      const skipped = await tick({ rpc });
      expect(skipped.scanned.every((r) => r.toBlock < token.blockNumber)).toBe(true);
      expect(eventsFor(await h.events(), token)).toEqual([]);
      lie = false;
      const next = await tick({ rpc });
      expect(next.cursor).toBe(await head());
      expect(eventsFor(await h.events(), token)).toEqual([`payment.detected@${token.blockHash}`]);
    } finally {
      rpc.close();
      await forked.close();
    }
  });

  it('takes a head below the cursor from a lagging endpoint for what it is, not for a reorg', async () => {
    await tick();
    const hot = freshAddress();
    await h.watchHot(hot);
    const token = sentToken(await sendToken(h.chain, USDT, hot, 121n));
    await mine(h.chain, 2);
    await tick();
    const behind = token.blockNumber - 1n;
    const lagging = await startRpcProxy({
      target: h.anvil.rpcUrl,
      behaviour: {
        kind: 'intercept',
        handle: async (call) => {
          if (call.method !== 'eth_getBlockByNumber') return undefined;
          const [tag] = call.params as [string];
          if (tag !== 'latest' && BigInt(tag) <= behind) return undefined;
          if (tag !== 'latest') return { result: null };
          const res = await fetch(h.anvil.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...call, jsonrpc: '2.0', params: [`0x${behind.toString(16)}`, true] }),
          });
          return { result: ((await res.json()) as { result: unknown }).result };
        },
      },
    });
    const rpc = createChainRpc({ chainId: h.anvil.chainId, urls: [lagging.url] });
    try {
      const report = await tick({ rpc });
      expect(report.reorgs).toBe(0);
      expect(report.cursor).toBe(await head());
      expect(eventsFor(await h.events(), token)).toEqual([`payment.detected@${token.blockHash}`]);
    } finally {
      rpc.close();
      await lagging.close();
    }
  });
});
