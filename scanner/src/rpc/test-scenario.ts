// Test-only: a chain history with token transfers to two watched addresses from three tokens (the demo
// USDT and USDC, and a USDT copy at another address), plus the noise the reader must ignore.
import { type Address, erc20Abi, type Hex, parseEventLogs, type TransactionReceipt } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { DEMO_TOKENS, deployDemoTokens } from '../../../devstack/chain.ts';
import {
  chainClients,
  deployTestContracts,
  mine,
  OTHER,
  sendBatch,
  sendNative,
  sendToken,
} from '../../../devstack/test-chain.ts';
import type { TransferLog } from './types.ts';

export const freshAddress = (): Address =>
  privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Address;

export interface TransferScenario {
  watched: [Address, Address];
  stranger: Address;
  /** The USDT copy at another address (same code and symbol). */
  foreignToken: Address;
  fromBlock: bigint;
  toBlock: bigint;
  /** Every non-zero Transfer to a watched address, decoded by viem from the receipts, in chain order. */
  expected: TransferLog[];
  /** Transactions the reader must not report: a zero-value transfer and one to a stranger. */
  ignoredTxs: Hex[];
  nativeTx: { hash: Hex; blockNumber: bigint; to: Address; value: bigint };
  /** The block holding the foreign token's deployment (a transaction with no recipient). */
  deploymentBlock: bigint;
}

/** Seeds a fresh anvil; `gapBlocks` empty blocks go between the groups of transfers. */
export async function seedTransferScenario(
  rpcUrl: string,
  opts: { gapBlocks?: number } = {},
): Promise<TransferScenario> {
  const gap = opts.gapBlocks ?? 5;
  await deployDemoTokens(rpcUrl);
  const c = chainClients(rpcUrl);
  // cacheTime 0: viem would otherwise answer from its block-number cache, which lags what was just mined.
  const fromBlock = (await c.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
  const contracts = await deployTestContracts(c);
  const w1 = freshAddress();
  const w2 = freshAddress();
  const stranger = freshAddress();
  const usdt = DEMO_TOKENS.usdt.address;
  const usdc = DEMO_TOKENS.usdc.address;

  const receipts: TransactionReceipt[] = [];
  receipts.push(await sendToken(c, usdt, w1, 5_000_000n));
  await mine(c, gap);
  receipts.push(await sendToken(c, usdc, w2, 7n * 10n ** 18n));
  receipts.push(await sendToken(c, contracts.impostor, w1, 9_000_000n));
  const zero = await sendToken(c, usdt, w1, 0n);
  const toStranger = await sendToken(c, usdt, stranger, 3n);
  const native = await sendNative(c, w1, 10n ** 18n);
  await mine(c, gap);
  // Several Transfer logs in one transaction, one of them to a stranger.
  receipts.push(
    await sendBatch(c, contracts, usdc, [
      { to: w1, amount: 11n },
      { to: stranger, amount: 12n },
      { to: w2, amount: 13n },
    ]),
  );
  await mine(c, gap);
  const last = await sendToken(c, usdt, w2, 17n, OTHER);
  receipts.push(last);
  const toBlock = last.blockNumber;

  const watched = new Set<string>([w1, w2]);
  const expected: TransferLog[] = [];
  for (const receipt of receipts) {
    for (const log of parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs })) {
      const to = log.args.to.toLowerCase();
      if (!watched.has(to) || log.args.value === 0n) continue;
      expected.push({
        token: log.address.toLowerCase() as Address,
        from: log.args.from.toLowerCase() as Address,
        to: to as Address,
        amount: log.args.value,
        txHash: log.transactionHash,
        logIndex: log.logIndex,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
      });
    }
  }
  if (expected.length !== 6)
    throw new Error(`scenario produced ${expected.length} watched transfers, expected 6`);
  return {
    watched: [w1, w2],
    stranger,
    foreignToken: contracts.impostor.toLowerCase() as Address,
    fromBlock,
    toBlock,
    expected,
    ignoredTxs: [zero.transactionHash, toStranger.transactionHash],
    nativeTx: { hash: native.transactionHash, blockNumber: native.blockNumber, to: w1, value: 10n ** 18n },
    // deployTestContracts' first transaction (a contract creation) is the first block after the seed.
    deploymentBlock: fromBlock,
  };
}
