import { describe, expect, it } from 'vitest';
import { parseAddress } from './address.ts';
import {
  type AssetRef,
  assetKey,
  createRegistry,
  DEFAULT_CHAINS,
  DEFAULT_TOKENS,
  type RegistryConfig,
  registryConfigSchema,
  rpcUrlsSchema,
  sameAsset,
} from './assets.ts';
import { rejection } from './testing.ts';

// The table in DESIGN.md, copied by hand: a change to a default must be a deliberate change here too.
const DESIGN_TABLE: Array<[number, 'USDT' | 'USDC', string, number]> = [
  [1, 'USDT', '0xdAC17F958D2ee523a2206206994597C13D831ec7', 6],
  [1, 'USDC', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', 6],
  [56, 'USDT', '0x55d398326f99059fF775485246999027B3197955', 18],
  [56, 'USDC', '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d', 18],
  [137, 'USDT', '0xc2132D05D31c914a87C6611C10748AEb04B58e8F', 6],
  [137, 'USDC', '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359', 6],
  [42161, 'USDT', '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 6],
  [42161, 'USDC', '0xaf88d065e77c8cC2239327C5EDb3A432268e5831', 6],
  [8453, 'USDT', '0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2', 6],
  [8453, 'USDC', '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', 6],
  [31337, 'USDT', '0x5FbDB2315678afecb367f032d93F642f64180aa3', 6],
  [31337, 'USDC', '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', 18],
];

const LOCAL_USDT: AssetRef = { chainId: 31337, token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
const ETH_USDT: AssetRef = { chainId: 1, token: '0xdAC17F958D2ee523a2206206994597C13D831ec7' };
const IMPOSTOR = '0x1111111111111111111111111111111111111111';

describe('assetKey and sameAsset', () => {
  it('keys by chain and lower-cased address, so casing never splits one asset in two', () => {
    expect(assetKey(ETH_USDT)).toBe('1/0xdac17f958d2ee523a2206206994597c13d831ec7');
    expect(assetKey({ chainId: 56, token: 'native' })).toBe('56/native');
    expect(sameAsset(ETH_USDT, { chainId: 1, token: '0xdac17f958d2ee523a2206206994597c13d831ec7' })).toBe(
      true,
    );
  });

  it('tells apart the same address on another chain and the native coin', () => {
    expect(sameAsset(ETH_USDT, { ...ETH_USDT, chainId: 56 })).toBe(false);
    expect(sameAsset({ chainId: 1, token: 'native' }, ETH_USDT)).toBe(false);
  });
});

describe('default registry', () => {
  const registry = createRegistry();

  it.each(DESIGN_TABLE)('chain %i %s is at %s with %i decimals', (chainId, symbol, address, decimals) => {
    const token = registry.requireToken({ chainId, token: address as AssetRef['token'] });
    expect(token.address).toBe(address);
    expect(token.symbol).toBe(symbol);
    expect(token.decimals).toBe(decimals);
    // One whole stablecoin, in that token's own decimals.
    expect(token.minFee).toBe(10n ** BigInt(decimals));
    // The defaults carry valid EIP-55 checksums.
    expect(parseAddress(address)).toBe(address);
  });

  it('holds exactly the design table plus one native coin per chain', () => {
    expect(DEFAULT_TOKENS).toHaveLength(DESIGN_TABLE.length + DEFAULT_CHAINS.length);
    expect(registry.tokens()).toHaveLength(DEFAULT_TOKENS.length);
  });

  it.each([
    [31337, 'Local (anvil)', 'ETH', 2, null],
    [1, 'Ethereum', 'ETH', 12, 'https://etherscan.io'],
    [56, 'BNB Smart Chain', 'BNB', 18, 'https://bscscan.com'],
    [137, 'Polygon PoS', 'POL', 100, 'https://polygonscan.com'],
    [42161, 'Arbitrum One', 'ETH', 18, 'https://arbiscan.io'],
    [8453, 'Base', 'ETH', 100, 'https://basescan.org'],
  ])(
    'chain %i is %s paying in %s with %i confirmations',
    (chainId, name, nativeSymbol, confirmations, explorer) => {
      expect(registry.requireChain(chainId)).toEqual({
        chainId,
        name,
        nativeSymbol,
        confirmations,
        finality: 'confirmations',
        rpcUrls: [],
        explorerUrl: explorer,
      });
      const native = registry.requireToken({ chainId, token: 'native' });
      expect(native).toMatchObject({ symbol: nativeSymbol, decimals: 18, minFee: 500_000_000_000_000n });
    },
  );

  it('has no active chain until RPC URLs are given', () => {
    expect(registry.chains()).toHaveLength(6);
    expect(registry.activeChains()).toEqual([]);
  });

  it('finds tokens whatever the address casing', () => {
    expect(
      registry.findToken({ chainId: 1, token: '0xdac17f958d2ee523a2206206994597c13d831ec7' })?.symbol,
    ).toBe('USDT');
  });

  it('does not find an impostor token named USDT at another address', () => {
    const impostor: AssetRef = { chainId: 1, token: IMPOSTOR };
    expect(registry.findToken(impostor)).toBeUndefined();
    const error = rejection(() => registry.requireToken(impostor));
    expect(error.code).toBe('asset_unknown');
    expect(error.message).toContain(IMPOSTOR);
    expect(error.message).toContain('Ethereum (chain 1)');
    expect(error.message).toContain('never by symbol');
  });

  it('does not find a real token on the wrong chain', () => {
    expect(registry.findToken({ ...ETH_USDT, chainId: 137 })).toBeUndefined();
  });

  it('answers unknown chains with undefined or chain_unknown', () => {
    expect(registry.chain(10)).toBeUndefined();
    expect(registry.tokens(10)).toEqual([]);
    const error = rejection(() => registry.requireChain(10));
    expect(error.code).toBe('chain_unknown');
    expect(error.message).toMatch(
      /Chain 10 is not configured; use one of: 31337 \(Local \(anvil\)\), 1 \(Ethereum\)/,
    );
    const tokenError = rejection(() => registry.requireToken({ chainId: 10, token: 'native' }));
    expect(tokenError.code).toBe('asset_unknown');
    expect(tokenError.message).toContain('Chain 10 is not configured');
  });

  it('lists tokens per chain', () => {
    expect(registry.tokens(56).map((t) => t.symbol)).toEqual(['USDT', 'USDC', 'BNB']);
    expect(registry.tokens(56).every((t) => t.decimals === 18)).toBe(true);
  });

  it('hands out frozen entries so no caller can change the registry for everyone', () => {
    const token = registry.requireToken(LOCAL_USDT);
    expect(() => {
      (token as { decimals: number }).decimals = 18;
    }).toThrow(TypeError);
    expect(registry.requireToken(LOCAL_USDT).decimals).toBe(6);
    expect(() => registry.requireChain(1).rpcUrls.push('https://evil')).toThrow(TypeError);
    expect(() => (DEFAULT_CHAINS[0] as { rpcUrls: string[] }).rpcUrls.push('https://evil')).toThrow(
      TypeError,
    );
  });
});

describe('RPC URLs', () => {
  it('activates the chains that have URLs', () => {
    const registry = createRegistry({
      rpcUrls: { '31337': ['http://127.0.0.1:8545'], '1': ['https://a', 'wss://b'] },
    });
    expect(registry.activeChains().map((c) => c.chainId)).toEqual([31337, 1]);
    expect(registry.requireChain(1).rpcUrls).toEqual(['https://a', 'wss://b']);
  });

  it('wins over rpcUrls given in a chain override', () => {
    const registry = createRegistry({
      overrides: { chains: { '1': { rpcUrls: ['https://from-registry'] } } },
      rpcUrls: { '1': ['https://from-rpc-config'] },
    });
    expect(registry.requireChain(1).rpcUrls).toEqual(['https://from-rpc-config']);
  });

  it('rejects URLs for a chain that is not configured', () => {
    const error = rejection(() => createRegistry({ rpcUrls: { '10': ['https://optimism.example'] } }));
    expect(error.code).toBe('registry_config_invalid');
    expect(error.message).toContain('rpcUrls.10: chain 10 is not configured');
  });

  it.each([
    [{ '1': [] }, 'at least one URL'],
    [{ '1': ['ftp://x'] }, 'http(s) or ws(s)'],
    [{ '1': ['https:host'] }, 'scheme://host'],
    [{ '1': ['not a url'] }, 'http(s) or ws(s)'],
    [{ mainnet: ['https://a'] }, 'chain id in decimal'],
  ])('rejects %j', (rpcUrls, fragment) => {
    expect(rpcUrlsSchema.safeParse(rpcUrls).success).toBe(false);
    const error = rejection(() => createRegistry({ rpcUrls: rpcUrls as Record<string, string[]> }));
    expect(error.code).toBe('registry_config_invalid');
    expect(error.message).toContain(fragment);
  });
});

describe('overrides', () => {
  it('replaces fields of a default chain and keeps the rest', () => {
    const registry = createRegistry({
      overrides: { chains: { '42161': { finality: 'finalized', confirmations: 1 } } },
    });
    expect(registry.requireChain(42161)).toMatchObject({
      name: 'Arbitrum One',
      finality: 'finalized',
      confirmations: 1,
      explorerUrl: 'https://arbiscan.io',
    });
  });

  it('adds a chain with its native coin and tokens', () => {
    const registry = createRegistry({
      overrides: {
        chains: { '10': { name: 'OP Mainnet', nativeSymbol: 'ETH', confirmations: 20 } },
        tokens: [
          {
            chainId: 10,
            address: '0x0b2c639c533813f4aa9d7837caf62653d097ff85',
            symbol: 'USDC',
            name: 'USD Coin',
            decimals: 6,
            minFee: '0.5',
          },
        ],
      },
      rpcUrls: { '10': ['https://op.example'] },
    });
    expect(registry.requireChain(10)).toMatchObject({ finality: 'confirmations', explorerUrl: null });
    expect(registry.activeChains().map((c) => c.chainId)).toEqual([10]);
    const usdc = registry.requireToken({ chainId: 10, token: '0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85' });
    // Stored in EIP-55 form, minFee parsed against the token's own decimals.
    expect(usdc.address).toBe('0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85');
    expect(usdc.minFee).toBe(500_000n);
    expect(registry.requireToken({ chainId: 10, token: 'native' })).toMatchObject({
      symbol: 'ETH',
      decimals: 18,
    });
  });

  it('replaces a default token by (chainId, address)', () => {
    const registry = createRegistry({
      overrides: {
        tokens: [
          {
            chainId: 56,
            address: '0x55d398326f99059ff775485246999027b3197955',
            symbol: 'USDT',
            name: 'Tether USD (BSC-peg)',
            decimals: 18,
            minFee: '2.5',
          },
        ],
      },
    });
    expect(registry.tokens(56)).toHaveLength(3);
    expect(
      registry.requireToken({ chainId: 56, token: '0x55d398326f99059fF775485246999027B3197955' }),
    ).toMatchObject({
      name: 'Tether USD (BSC-peg)',
      minFee: 2_500_000_000_000_000_000n,
    });
  });

  it('adds a second token with an existing symbol; matching stays by address', () => {
    const registry = createRegistry({
      overrides: {
        tokens: [
          { chainId: 137, address: IMPOSTOR, symbol: 'USDT', name: 'Other USDT', decimals: 6, minFee: '0' },
        ],
      },
    });
    expect(registry.tokens(137).filter((t) => t.symbol === 'USDT')).toHaveLength(2);
    expect(registry.requireToken({ chainId: 137, token: IMPOSTOR }).name).toBe('Other USDT');
    expect(
      registry.requireToken({ chainId: 137, token: '0xc2132D05D31c914a87C6611C10748AEb04B58e8F' }).name,
    ).toBe('Tether USD');
  });

  it('disables tokens, native coins included', () => {
    const registry = createRegistry({
      overrides: {
        disabledTokens: [
          { chainId: 8453, token: '0xfde4c96c8593536e31f229ea8f37b2ada2699bb2' },
          { chainId: 8453, token: 'native' },
        ],
      },
    });
    expect(registry.tokens(8453).map((t) => t.symbol)).toEqual(['USDC']);
    expect(
      registry.findToken({ chainId: 8453, token: '0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2' }),
    ).toBeUndefined();
    expect(rejection(() => registry.requireToken({ chainId: 8453, token: 'native' })).message).toMatch(
      /The native coin is not configured on Base/,
    );
  });

  it('renames the native coin with the chain', () => {
    const registry = createRegistry({ overrides: { chains: { '137': { nativeSymbol: 'MATIC' } } } });
    expect(registry.requireToken({ chainId: 137, token: 'native' }).symbol).toBe('MATIC');
  });

  it('does not change the defaults or other registries', () => {
    createRegistry({
      overrides: { chains: { '1': { confirmations: 1 } } },
      rpcUrls: { '1': ['https://a'] },
    });
    expect(createRegistry().requireChain(1)).toMatchObject({ confirmations: 12, rpcUrls: [] });
    expect(DEFAULT_CHAINS.find((c) => c.chainId === 1)?.rpcUrls).toEqual([]);
  });
});

describe('bad configuration', () => {
  const usdt = {
    chainId: 1,
    address: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
    symbol: 'USDT',
    name: 'Tether USD',
    decimals: 6,
    minFee: '1',
  };

  it.each<[string, RegistryConfig, string]>([
    [
      'a token address with a checksum typo',
      { tokens: [{ ...usdt, address: '0xdAC17F958D2ee523a2206206994597C13D831ec8' }] },
      'tokens.0.address: 0xdAC17F958D2ee523a2206206994597C13D831ec8 fails its EIP-55 checksum',
    ],
    [
      'a zero token address',
      { tokens: [{ ...usdt, address: `0x${'0'.repeat(40)}` }] },
      'tokens.0.address: The zero',
    ],
    [
      'a minFee more precise than the token',
      { tokens: [{ ...usdt, minFee: '0.0000001' }] },
      "tokens.0.minFee: USDT has 6 decimals; '0.0000001' has 7",
    ],
    ['a minFee as a number', { tokens: [{ ...usdt, minFee: 1 as unknown as string }] }, 'tokens.0.minFee'],
    [
      'a native coin without 18 decimals',
      { tokens: [{ ...usdt, address: 'native', decimals: 6 }] },
      'tokens.0.decimals: native coins on EVM chains have 18 decimals',
    ],
    [
      'a token on a chain that is not configured',
      { tokens: [{ ...usdt, chainId: 10 }] },
      'tokens.0: USDT is on chain 10, which is not configured',
    ],
    [
      'the same address twice',
      { tokens: [usdt, { ...usdt, symbol: 'USDT2' }] },
      'tokens.1: 0xdAC17F958D2ee523a2206206994597C13D831ec7 on chain 1 is already listed at tokens.0',
    ],
    [
      'the same address twice in different casing',
      { tokens: [usdt, { ...usdt, address: usdt.address.toLowerCase() }] },
      'is already listed at tokens.0',
    ],
    [
      'a new chain without its required fields',
      { chains: { '10': { name: 'OP Mainnet' } } },
      'chains.10: chain 10 is not a default chain, so it needs nativeSymbol, confirmations',
    ],
    [
      'zero confirmations',
      { chains: { '1': { confirmations: 0 } } },
      'chains.1.confirmations: must be at least 1',
    ],
    ['a chain keyed by name', { chains: { ethereum: { confirmations: 3 } } }, 'chain id in decimal'],
    ['an unknown key', { chain: {} } as RegistryConfig, 'chain'],
    [
      'disabling a token that does not exist',
      { disabledTokens: [{ chainId: 1, token: IMPOSTOR }] },
      `disabledTokens.0: there is no token ${IMPOSTOR} on chain 1 to disable`,
    ],
  ])('rejects %s with a readable message', (_label, overrides, fragment) => {
    const error = rejection(() => createRegistry({ overrides }));
    expect(error.code).toBe('registry_config_invalid');
    expect(error.message).toMatch(/^The asset registry configuration is invalid \(\d+ problems?\):/);
    expect(error.message).toContain(fragment);
  });

  it('lists every problem at once', () => {
    const error = rejection(() =>
      createRegistry({
        overrides: {
          tokens: [{ ...usdt, chainId: 10 }],
          disabledTokens: [{ chainId: 1, token: IMPOSTOR }],
        },
      }),
    );
    expect(error.message).toContain('(2 problems)');
    expect(error.details?.problems).toHaveLength(2);
  });

  it('the schema alone accepts a good config and gives bigint minFees', () => {
    const parsed = registryConfigSchema.parse({ tokens: [{ ...usdt, minFee: '0.25' }] });
    expect(parsed.tokens?.[0]?.minFee).toBe(250_000n);
  });
});
