// Test-only chain helpers: extra token contracts for the payment edge cases, and one-line transfers.
import {
  type Abi,
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  type Hash,
  type Hex,
  http,
  parseAbi,
  type TransactionReceipt,
} from 'viem';
import type { Account } from 'viem/accounts';
import { anvilDevAccounts, DEMO_TOKENS } from './chain.ts';
import { parseContractArtifact } from './contracts/artifact.ts';
import batchSenderJson from './contracts/artifacts/BatchSender.json' with { type: 'json' };
import controlledTokenJson from './contracts/artifacts/ControlledToken.json' with { type: 'json' };
import feeTokenJson from './contracts/artifacts/FeeOnTransferToken.json' with { type: 'json' };

const feeToken = parseContractArtifact(feeTokenJson, 'FeeOnTransferToken.json');
const batchSender = parseContractArtifact(batchSenderJson, 'BatchSender.json');
const controlledToken = parseContractArtifact(controlledTokenJson, 'ControlledToken.json');

const tokenAbi = parseAbi([
  'function mint(address to, uint256 value)',
  'function transfer(address to, uint256 value)',
  'function approve(address spender, uint256 value)',
  'function balanceOf(address who) view returns (uint256)',
]);
const batchAbi = parseAbi(['function send(address token, address[] to, uint256[] amounts)']);
const controlAbi = parseAbi([
  'function setPaused(bool value)',
  'function setBlacklisted(address account, bool value)',
]);

/** Wallet, public and test (anvil_*) clients for one anvil chain. */
export function chainClients(rpcUrl: string, chainId = 31337) {
  const chain = defineChain({
    id: chainId,
    name: 'anvil (test)',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl);
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    testClient: createTestClient({ chain, transport, mode: 'anvil' }),
    wallet: (account: Account) => createWalletClient({ chain, transport, account, pollingInterval: 50 }),
  };
}

export type ChainClients = ReturnType<typeof chainClients>;

/** Dev account 0 deploys and mints; the others are buyers and strangers. */
const [deployer, buyer, other] = anvilDevAccounts(3);
export const DEPLOYER = deployer as Account;
export const BUYER = buyer as Account;
export const OTHER = other as Account;

async function deploy(c: ChainClients, abi: Abi, bytecode: Hex, args: unknown[] = []): Promise<Address> {
  const hash = await c.wallet(DEPLOYER).deployContract({ abi, bytecode, args, chain: null });
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error('deployment produced no contract');
  return receipt.contractAddress;
}

/**
 * The extra contracts the payment tests need, next to the demo USDT (6 decimals, no return values) and
 * USDC (18 decimals): a fee-on-transfer token, an impostor with USDT's symbol and code at another address,
 * and a sender that pays several recipients in one transaction.
 */
export async function deployTestContracts(c: ChainClients, opts: { feeBps?: bigint } = {}) {
  const fee = await deploy(c, feeToken.abi, feeToken.bytecode, [opts.feeBps ?? 100n]);
  const impostor = await deploy(c, DEMO_TOKENS.usdt.artifact.abi, DEMO_TOKENS.usdt.artifact.bytecode);
  const batch = await deploy(c, batchSender.abi, batchSender.bytecode);
  for (const token of [fee, impostor]) await mint(c, token, BUYER.address, 10n ** 15n);
  return { fee, impostor, batch };
}

/**
 * A stablecoin its issuer controls (6 decimals, standard returns): `pause` stops every transfer and
 * `blacklist` stops an address's, as USDC and USDT can on mainnet. For the payout checks.
 */
export async function deployControlledToken(c: ChainClients) {
  const address = await deploy(c, controlledToken.abi, controlledToken.bytecode);
  const control = async (
    functionName: 'setPaused' | 'setBlacklisted',
    args: [boolean] | [Address, boolean],
  ) =>
    mined(
      c,
      await c.wallet(DEPLOYER).writeContract({
        address,
        abi: controlAbi,
        functionName,
        args: args as never,
        chain: null,
      }),
    );
  return {
    address,
    pause: (paused = true) => control('setPaused', [paused]),
    blacklist: (account: Address, listed = true) => control('setBlacklisted', [account, listed]),
  };
}

async function mined(c: ChainClients, hash: Hash): Promise<TransactionReceipt> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

export async function mint(c: ChainClients, token: Address, to: Address, amount: bigint) {
  const hash = await c.wallet(DEPLOYER).writeContract({
    address: token,
    abi: tokenAbi,
    functionName: 'mint',
    args: [to, amount],
    chain: null,
  });
  return mined(c, hash);
}

/** A token transfer from `from` (the buyer by default), mined; the receipt names block and logs. */
export async function sendToken(
  c: ChainClients,
  token: Address,
  to: Address,
  amount: bigint,
  from: Account = BUYER,
): Promise<TransactionReceipt> {
  const hash = await c.wallet(from).writeContract({
    address: token,
    abi: tokenAbi,
    functionName: 'transfer',
    args: [to, amount],
    chain: null,
    gas: 200_000n,
  });
  return mined(c, hash);
}

export async function sendNative(c: ChainClients, to: Address, value: bigint, from: Account = BUYER) {
  const hash = await c.wallet(from).sendTransaction({ to, value, chain: null });
  return mined(c, hash);
}

/** Several transfers of one token in one transaction (one Transfer log each). */
export async function sendBatch(
  c: ChainClients,
  contracts: { batch: Address },
  token: Address,
  payments: Array<{ to: Address; amount: bigint }>,
  from: Account = BUYER,
) {
  const total = payments.reduce((sum, p) => sum + p.amount, 0n);
  const approve = await c.wallet(from).writeContract({
    address: token,
    abi: tokenAbi,
    functionName: 'approve',
    args: [contracts.batch, 0n],
    chain: null,
  });
  await mined(c, approve);
  await mined(
    c,
    await c.wallet(from).writeContract({
      address: token,
      abi: tokenAbi,
      functionName: 'approve',
      args: [contracts.batch, total],
      chain: null,
    }),
  );
  const hash = await c.wallet(from).writeContract({
    address: contracts.batch,
    abi: batchAbi,
    functionName: 'send',
    args: [token, payments.map((p) => p.to), payments.map((p) => p.amount)],
    chain: null,
    gas: 500_000n,
  });
  return mined(c, hash);
}

/** Mines `blocks` empty blocks (confirmations for what came before). */
export const mine = (c: ChainClients, blocks: number) => c.testClient.mine({ blocks });

/**
 * Replaces the last `depth` blocks (anvil_reorg). With no transactions the payments in them vanish; with
 * [rawTx, blockOffset] pairs those transactions are mined again into the new blocks.
 */
export async function reorg(c: ChainClients, depth: number, txBlockPairs: Array<[Hex, number]> = []) {
  await c.testClient.request({
    method: 'anvil_reorg' as never,
    params: [depth, txBlockPairs] as never,
  });
}
