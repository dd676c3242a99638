// The scanner's view of the payout signer's own transactions: the senders the signer lists are watched,
// what their transactions moved is written with the cursor, and a reorg takes it back with its blocks.
import { ScannerView } from '@amanat/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../../devstack/chain.ts';
import { BUYER, mine, OTHER, reorg, sendNative, sendToken } from '../../../devstack/test-chain.ts';
import { freshAddress } from '../rpc/test-scenario.ts';
import { type ScanHarness, startScanHarness } from './testing.ts';
import { scanTick } from './tick.ts';

const USDT = DEMO_TOKENS.usdt.address;
const usdt = USDT.toLowerCase();
const buyer = BUYER.address.toLowerCase();
/** A hash no transaction has, for a look at the cursor alone. */
const NO_TX = `0x${'0'.repeat(64)}`;

describe("the scanner's view of outgoing transfers", () => {
  let h: ScanHarness;
  let view: ScannerView;
  let chainId: number;

  beforeAll(async () => {
    h = await startScanHarness();
    view = new ScannerView(h.redis.redis, h.redis.prefix);
    chainId = h.anvil.chainId;
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const tick = (over: Parameters<ScanHarness['deps']>[0] = {}) => scanTick(h.deps(over));
  const head = () => h.chain.publicClient.getBlockNumber({ cacheTime: 0 });
  /** The signer's listing of a record in flight from BUYER (the sender these tests send from). */
  const listBuyer = () => view.watchSender(chainId, BUYER.address, { table: 'payout_legs', id: 1n });

  it('records the token and native transfers a listed sender makes, at the block it scanned them in', async () => {
    await tick();
    await listBuyer();
    const to = freshAddress();
    const token = await sendToken(h.chain, USDT, to, 5_000_000n);
    const native = await sendNative(h.chain, to, 7n);
    // Not listed: OTHER's transfers are nobody's payout.
    const stranger = await sendNative(h.chain, to, 9n, OTHER);

    const report = await tick();
    expect(report.outgoing).toBe(2);
    const seenToken = await view.look(chainId, token.transactionHash);
    expect(seenToken.cursor).toBe(await head());
    expect(seenToken.seen).toEqual({
      txHash: token.transactionHash,
      blockNumber: token.blockNumber,
      blockHash: token.blockHash,
      from: buyer,
      to: usdt,
      value: 0n,
      transfers: [{ token: usdt, from: buyer, to, amount: 5_000_000n }],
    });
    expect((await view.look(chainId, native.transactionHash)).seen).toEqual({
      txHash: native.transactionHash,
      blockNumber: native.blockNumber,
      blockHash: native.blockHash,
      from: buyer,
      to,
      value: 7n,
      transfers: [],
    });
    expect((await view.look(chainId, stranger.transactionHash)).seen).toBeNull();

    // Unlisted (its record final), BUYER is not watched any more.
    await view.unwatchSender(chainId, BUYER.address, { table: 'payout_legs', id: 1n });
    const later = await sendNative(h.chain, to, 11n);
    expect((await tick()).outgoing).toBe(0);
    expect((await view.look(chainId, later.transactionHash)).seen).toBeNull();
  });

  it('costs one eth_getLogs per block holding a listed sender’s transaction, and nothing otherwise', async () => {
    await tick();
    const callsOfTick = async () => {
      const before = h.rpc.stats().rpcCalls;
      await tick();
      return h.rpc.stats().rpcCalls - before;
    };
    await mine(h.chain, 5);
    const nothingListed = await callsOfTick();

    // Listed, but its sender sends nothing in these blocks (another account does).
    await listBuyer();
    await sendNative(h.chain, freshAddress(), 1n, OTHER);
    await mine(h.chain, 4);
    expect(await callsOfTick()).toBe(nothingListed);

    await sendToken(h.chain, USDT, freshAddress(), 1n);
    await mine(h.chain, 4);
    expect(await callsOfTick()).toBe(nothingListed + 1);
  });

  it('a reorg that moves the transaction into another block: forgotten there, recorded again where it lands', async () => {
    await tick();
    await listBuyer();
    const wallet = h.chain.wallet(BUYER);
    const request = await wallet.prepareTransactionRequest({
      to: freshAddress(),
      value: 4_321n,
      chain: null,
    });
    const raw = await wallet.signTransaction(request as never);
    const hash = await h.chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
    const original = await h.chain.publicClient.waitForTransactionReceipt({ hash });
    await tick();
    expect((await view.look(chainId, hash)).seen?.blockHash).toBe(original.blockHash);

    await mine(h.chain, 1);
    await reorg(h.chain, 2, [[raw, 1]]);
    const moved = await h.chain.publicClient.getTransactionReceipt({ hash });
    expect(moved.blockHash).not.toBe(original.blockHash);
    const report = await tick();
    expect(report.reorgs).toBe(1);
    const look = await view.look(chainId, hash);
    expect(look.seen).toMatchObject({
      blockNumber: moved.blockNumber,
      blockHash: moved.blockHash,
      value: 4_321n,
    });
    expect(look.cursor).toBe(await head());
  });

  it('a reorg that drops the transaction drops what the scanner saw of it', async () => {
    await tick();
    await listBuyer();
    await mine(h.chain, 3);
    const token = await sendToken(h.chain, USDT, freshAddress(), 3n);
    await mine(h.chain, 1);
    await tick();
    expect((await view.look(chainId, token.transactionHash)).seen?.blockHash).toBe(token.blockHash);

    await reorg(h.chain, 3, []);
    await mine(h.chain, 2);
    const report = await tick();
    expect(report.reorgs).toBe(1);
    const look = await view.look(chainId, token.transactionHash);
    expect(look.cursor).toBe(await head());
    expect(look.cursor).toBeGreaterThan(token.blockNumber);
    expect(look.seen).toBeNull();
  });

  it('never moves the cursor past a block without what it saw there: a crash before the write loses neither', async () => {
    await tick();
    const before = (await view.look(chainId, NO_TX)).cursor;
    await listBuyer();
    const native = await sendNative(h.chain, freshAddress(), 13n);
    await expect(
      tick({
        hooks: {
          beforeCommit: (step) => {
            if (step.kind === 'blocks') throw new Error('killed before the commit');
          },
        },
      }),
    ).rejects.toThrow('killed before the commit');
    expect(await view.look(chainId, native.transactionHash)).toEqual({ cursor: before, seen: null });

    await tick();
    const look = await view.look(chainId, native.transactionHash);
    expect(look.cursor).toBeGreaterThanOrEqual(native.blockNumber);
    expect(look.seen?.blockHash).toBe(native.blockHash);
  });

  it('prunes what it saw once the cursor is the kept depth past it', async () => {
    const keep = { outgoingKeepBlocks: 5 };
    await tick(keep);
    await listBuyer();
    const native = await sendNative(h.chain, freshAddress(), 17n);
    await mine(h.chain, 4);
    await tick(keep);
    expect((await view.look(chainId, native.transactionHash)).seen?.value).toBe(17n);
    await mine(h.chain, 1);
    await tick(keep);
    expect((await view.look(chainId, native.transactionHash)).seen).toBeNull();
  });
});
