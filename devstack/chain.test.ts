import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getContractAddress,
  http,
  isAddressEqual,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANVIL_DEPLOYER_PRIVATE_KEY,
  type AnvilHandle,
  anvilDevAccounts,
  DEMO_MINT_WHOLE_TOKENS,
  DEMO_TOKENS,
  deployDemoTokens,
  startAnvil,
} from './chain.ts';
import { isPortFree } from './ports.ts';

// The USDT-like token's ABI says transfer returns nothing; erc20Abi (bool return) is what naive code uses.
const usdtAbi = DEMO_TOKENS.usdt.artifact.abi;

describe('local anvil chain with demo tokens', () => {
  let anvil: AnvilHandle;
  const accounts = anvilDevAccounts();

  const clients = () => {
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
    return { publicClient, transport };
  };

  beforeAll(async () => {
    anvil = await startAnvil();
    await deployDemoTokens(anvil.rpcUrl);
  });

  afterAll(async () => {
    await anvil?.stop();
  });

  it('runs on a free port other than 8545 with the default chain id', async () => {
    expect(anvil.port).not.toBe(8545);
    expect(anvil.chainId).toBe(31337);
    expect(await clients().publicClient.getChainId()).toBe(31337);
  });

  it('puts the tokens at the CREATE addresses of account 0, nonces 0 and 1', () => {
    const deployer = privateKeyToAccount(ANVIL_DEPLOYER_PRIVATE_KEY).address;
    expect(deployer).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(isAddressEqual(accounts[0]?.address ?? '0x', deployer)).toBe(true);
    expect(getContractAddress({ from: deployer, nonce: 0n })).toBe(DEMO_TOKENS.usdt.address);
    expect(getContractAddress({ from: deployer, nonce: 1n })).toBe(DEMO_TOKENS.usdc.address);
  });

  it('reports decimals, symbols and names', async () => {
    const { publicClient } = clients();
    const read = (address: `0x${string}`, functionName: 'decimals' | 'symbol' | 'name') =>
      publicClient.readContract({ address, abi: erc20Abi, functionName });
    expect(await read(DEMO_TOKENS.usdt.address, 'decimals')).toBe(6);
    expect(await read(DEMO_TOKENS.usdc.address, 'decimals')).toBe(18);
    expect(await read(DEMO_TOKENS.usdt.address, 'symbol')).toBe('USDT');
    expect(await read(DEMO_TOKENS.usdc.address, 'symbol')).toBe('USDC');
    expect(await read(DEMO_TOKENS.usdt.address, 'name')).toBe('Tether USD (local)');
    expect(await read(DEMO_TOKENS.usdc.address, 'name')).toBe('USD Coin (local, 18 decimals)');
  });

  it('mints one million whole tokens of each to the ten dev accounts', async () => {
    const { publicClient } = clients();
    expect(accounts).toHaveLength(10);
    for (const token of [DEMO_TOKENS.usdt, DEMO_TOKENS.usdc]) {
      const expected = DEMO_MINT_WHOLE_TOKENS * 10n ** BigInt(token.decimals);
      for (const account of accounts) {
        const balance = await publicClient.readContract({
          address: token.address,
          abi: erc20Abi,
          functionName: 'balanceOf',
          args: [account.address],
        });
        expect(balance).toBe(expected);
      }
      const supply = await publicClient.readContract({
        address: token.address,
        abi: erc20Abi,
        functionName: 'totalSupply',
      });
      expect(supply).toBe(expected * 10n);
    }
  });

  it('USDT-like transfer returns no data, yet a sent transfer moves funds and logs Transfer', async () => {
    const { publicClient, transport } = clients();
    const [from, to] = [accounts[3], accounts[4]];
    if (!from || !to) throw new Error('dev accounts missing');
    const amount = 12_345_678n; // 12.345678 USDT
    const data = encodeFunctionData({ abi: usdtAbi, functionName: 'transfer', args: [to.address, amount] });

    const raw = await publicClient.request({
      method: 'eth_call',
      params: [{ from: from.address, to: DEMO_TOKENS.usdt.address, data }, 'latest'],
    });
    expect(raw).toBe('0x');

    const before = await publicClient.readContract({
      address: DEMO_TOKENS.usdt.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [to.address],
    });
    const wallet = createWalletClient({ chain: foundry, transport, account: from });
    const hash = await wallet.sendTransaction({ to: DEMO_TOKENS.usdt.address, data });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');

    const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs });
    expect(transfers).toHaveLength(1);
    expect(transfers[0]?.address).toBe(DEMO_TOKENS.usdt.address.toLowerCase());
    expect(transfers[0]?.args).toEqual({ from: from.address, to: to.address, value: amount });

    const after = await publicClient.readContract({
      address: DEMO_TOKENS.usdt.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [to.address],
    });
    expect(after - before).toBe(amount);
  });

  it('USDT-like transfer of more than the balance reverts', async () => {
    const { publicClient } = clients();
    const from = accounts[5];
    if (!from) throw new Error('dev account missing');
    const data = encodeFunctionData({
      abi: usdtAbi,
      functionName: 'transfer',
      args: [from.address, DEMO_MINT_WHOLE_TOKENS * 10n ** 6n + 1n],
    });
    await expect(
      publicClient.call({ account: from.address, to: DEMO_TOKENS.usdt.address, data }),
    ).rejects.toThrow(/exceeds balance/);
  });

  it('18-decimal transfer returns true', async () => {
    const { publicClient } = clients();
    const from = accounts[6];
    const to = accounts[7];
    if (!from || !to) throw new Error('dev accounts missing');
    const { result } = await publicClient.simulateContract({
      account: from.address,
      address: DEMO_TOKENS.usdc.address,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [to.address, 10n ** 18n],
    });
    expect(result).toBe(true);
  });

  it('deploying again is a no-op', async () => {
    const { publicClient } = clients();
    const deployer = privateKeyToAccount(ANVIL_DEPLOYER_PRIVATE_KEY).address;
    const blockBefore = await publicClient.getBlockNumber({ cacheTime: 0 });
    const nonceBefore = await publicClient.getTransactionCount({ address: deployer });

    const again = await deployDemoTokens(anvil.rpcUrl);

    expect(again).toEqual({ usdt: DEMO_TOKENS.usdt.address, usdc: DEMO_TOKENS.usdc.address });
    expect(await publicClient.getBlockNumber({ cacheTime: 0 })).toBe(blockBefore);
    expect(await publicClient.getTransactionCount({ address: deployer })).toBe(nonceBefore);
    const balance = await publicClient.readContract({
      address: DEMO_TOKENS.usdc.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [deployer],
    });
    expect(balance).toBe(DEMO_MINT_WHOLE_TOKENS * 10n ** 18n);
  });
});

describe('startAnvil lifecycle', () => {
  const accountsForState = anvilDevAccounts(3);

  it('stop() ends the process and frees the port', async () => {
    const chain = await startAnvil({ chainId: 4242 });
    const client = createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 0 }) });
    expect(await client.getChainId()).toBe(4242);
    expect(await isPortFree(chain.port)).toBe(false);

    await chain.stop();

    expect(await isPortFree(chain.port)).toBe(true);
    await expect(client.getChainId()).rejects.toThrow();
    await chain.stop(); // second stop resolves too
  });

  it('with statePath, a restarted chain keeps the tokens and balances and redeploy stays a no-op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amanat-anvil-state-'));
    const statePath = join(dir, 'nested', 'anvil-state.json');
    try {
      const first = await startAnvil({ statePath });
      await deployDemoTokens(first.rpcUrl);
      const holder = accountsForState[2];
      if (!holder) throw new Error('dev account missing');
      const wallet = createWalletClient({ chain: foundry, transport: http(first.rpcUrl), account: holder });
      const burnt = 7n * 10n ** 6n;
      const hash = await wallet.writeContract({
        address: DEMO_TOKENS.usdt.address,
        abi: usdtAbi,
        functionName: 'transfer',
        args: ['0x000000000000000000000000000000000000dEaD', burnt],
      });
      await createPublicClient({ transport: http(first.rpcUrl) }).waitForTransactionReceipt({
        hash,
        pollingInterval: 50,
      });
      await first.stop();
      expect(existsSync(statePath)).toBe(true);

      const second = await startAnvil({ statePath });
      try {
        const client = createPublicClient({ transport: http(second.rpcUrl) });
        const blocks = await client.getBlockNumber();
        await deployDemoTokens(second.rpcUrl);
        expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(blocks);
        const balance = await client.readContract({
          address: DEMO_TOKENS.usdt.address,
          abi: erc20Abi,
          functionName: 'balanceOf',
          args: [holder.address],
        });
        expect(balance).toBe(DEMO_MINT_WHOLE_TOKENS * 10n ** 6n - burnt);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a port that is already taken, naming it', async () => {
    const first = await startAnvil();
    try {
      await expect(startAnvil({ port: first.port })).rejects.toThrow(`${first.port} is already in use`);
    } finally {
      await first.stop();
    }
  });

  it('refuses to deploy when account 0 already used nonce 0, since addresses would differ', async () => {
    const chain = await startAnvil();
    try {
      const transport = http(chain.rpcUrl);
      const account = privateKeyToAccount(ANVIL_DEPLOYER_PRIVATE_KEY);
      const wallet = createWalletClient({ chain: foundry, transport, account });
      await wallet.sendTransaction({ to: account.address, value: 1n });
      await expect(deployDemoTokens(chain.rpcUrl)).rejects.toThrow(/not land at their fixed addresses/);
    } finally {
      await chain.stop();
    }
  });
});
