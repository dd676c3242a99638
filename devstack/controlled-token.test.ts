import { parseAbi } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnvilHandle, startAnvil } from './chain.ts';
import { BUYER, type ChainClients, chainClients, deployControlledToken, mint, OTHER } from './test-chain.ts';

const abi = parseAbi([
  'function transfer(address to, uint256 value) returns (bool)',
  'function paused() view returns (bool)',
  'function isBlacklisted(address) view returns (bool)',
  'function balanceOf(address) view returns (uint256)',
]);

describe('ControlledToken (the issuer-controlled test stablecoin)', () => {
  let anvil: AnvilHandle;
  let c: ChainClients;
  beforeAll(async () => {
    anvil = await startAnvil();
    c = chainClients(anvil.rpcUrl);
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  const transfer = (token: `0x${string}`, value: bigint) =>
    c.publicClient.simulateContract({
      address: token,
      abi,
      functionName: 'transfer',
      args: [OTHER.address, value],
      account: BUYER,
    });

  it('moves money until the issuer pauses it or blacklists the sender', async () => {
    const token = await deployControlledToken(c);
    await mint(c, token.address, BUYER.address, 1_000_000n);
    await expect(transfer(token.address, 1n)).resolves.toMatchObject({ result: true });

    await token.pause();
    expect(await c.publicClient.readContract({ address: token.address, abi, functionName: 'paused' })).toBe(
      true,
    );
    await expect(transfer(token.address, 1n)).rejects.toThrow(/CUSD: paused/);
    await token.pause(false);

    await token.blacklist(BUYER.address);
    expect(
      await c.publicClient.readContract({
        address: token.address,
        abi,
        functionName: 'isBlacklisted',
        args: [BUYER.address],
      }),
    ).toBe(true);
    await expect(transfer(token.address, 1n)).rejects.toThrow(/CUSD: blacklisted/);
    // Only the issuer controls it.
    await expect(
      c.publicClient.simulateContract({
        address: token.address,
        abi: parseAbi(['function setPaused(bool value)']),
        functionName: 'setPaused',
        args: [true],
        account: BUYER,
      }),
    ).rejects.toThrow(/only owner/);
  });
});
