import type { Address } from 'viem';
import { z } from 'zod';
import { parseAddress } from './address.ts';
import { DomainError } from './errors.ts';
import { parseAmount } from './money.ts';

/**
 * The asset registry: which chains and which token contracts Amanat accepts. An asset is a
 * (chainId, contract address) pair and never a symbol, because anyone can deploy a token called "USDT".
 */

export const FINALITY_MODES = ['confirmations', 'finalized'] as const;
export type Finality = (typeof FINALITY_MODES)[number];

export interface Chain {
  chainId: number;
  name: string;
  nativeSymbol: string;
  /** Blocks on top of a payment's block before it counts. */
  confirmations: number;
  /** 'finalized' waits for the chain's finalized tag instead of counting blocks. */
  finality: Finality;
  /** Empty means the chain is known but not watched. */
  rpcUrls: string[];
  explorerUrl: string | null;
}

export interface Token {
  chainId: number;
  address: Address | 'native';
  symbol: string;
  name: string;
  decimals: number;
  /** The smallest platform fee for a deal in this asset, in its base units. */
  minFee: bigint;
}

export interface AssetRef {
  chainId: number;
  token: Address | 'native';
}

export const assetKey = (ref: AssetRef): string =>
  `${ref.chainId}/${ref.token === 'native' ? 'native' : ref.token.toLowerCase()}`;

export const sameAsset = (a: AssetRef, b: AssetRef): boolean => assetKey(a) === assetKey(b);

// Native coins on EVM chains always count in wei.
const NATIVE_DECIMALS = 18;
const NATIVE_MIN_FEE = parseAmount('0.0005', NATIVE_DECIMALS);
const LOCAL_CHAIN_ID = 31337;

const chain = (
  chainId: number,
  name: string,
  nativeSymbol: string,
  confirmations: number,
  explorerUrl: string | null,
): Chain =>
  Object.freeze({
    chainId,
    name,
    nativeSymbol,
    confirmations,
    finality: 'confirmations',
    rpcUrls: Object.freeze([]) as unknown as string[],
    explorerUrl,
  });

const stablecoin = (chainId: number, symbol: 'USDT' | 'USDC', address: Address, decimals: number): Token =>
  Object.freeze({
    chainId,
    address,
    symbol,
    name: symbol === 'USDT' ? 'Tether USD' : 'USD Coin',
    decimals,
    minFee: parseAmount('1', decimals),
  });

const nativeCoin = (chainId: number, symbol: string, name: string): Token =>
  Object.freeze({
    chainId,
    address: 'native',
    symbol,
    name,
    decimals: NATIVE_DECIMALS,
    minFee: NATIVE_MIN_FEE,
  });

// Confirmation counts follow DESIGN.md's safe defaults; operators may tighten or loosen them per chain.
export const DEFAULT_CHAINS: readonly Chain[] = Object.freeze([
  chain(LOCAL_CHAIN_ID, 'Local (anvil)', 'ETH', 2, null),
  chain(1, 'Ethereum', 'ETH', 12, 'https://etherscan.io'),
  chain(56, 'BNB Smart Chain', 'BNB', 18, 'https://bscscan.com'),
  chain(137, 'Polygon PoS', 'POL', 100, 'https://polygonscan.com'),
  chain(42161, 'Arbitrum One', 'ETH', 18, 'https://arbiscan.io'),
  chain(8453, 'Base', 'ETH', 100, 'https://basescan.org'),
]);

// Contract addresses and decimals from DESIGN.md (checked against public sources; re-check with the
// issuer before production). Decimals differ per chain: never assume 6.
export const DEFAULT_TOKENS: readonly Token[] = Object.freeze([
  // The devstack deploys these two first from anvil account 0, so their addresses are stable.
  stablecoin(LOCAL_CHAIN_ID, 'USDT', '0x5FbDB2315678afecb367f032d93F642f64180aa3', 6),
  stablecoin(LOCAL_CHAIN_ID, 'USDC', '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', 18),
  nativeCoin(LOCAL_CHAIN_ID, 'ETH', 'Ether'),

  stablecoin(1, 'USDT', '0xdAC17F958D2ee523a2206206994597C13D831ec7', 6),
  stablecoin(1, 'USDC', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', 6),
  nativeCoin(1, 'ETH', 'Ether'),

  stablecoin(56, 'USDT', '0x55d398326f99059fF775485246999027B3197955', 18),
  stablecoin(56, 'USDC', '0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d', 18),
  nativeCoin(56, 'BNB', 'BNB'),

  stablecoin(137, 'USDT', '0xc2132D05D31c914a87C6611C10748AEb04B58e8F', 6),
  // Circle's native USDC, not the bridged USDC.e.
  stablecoin(137, 'USDC', '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359', 6),
  nativeCoin(137, 'POL', 'POL'),

  stablecoin(42161, 'USDT', '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 6),
  stablecoin(42161, 'USDC', '0xaf88d065e77c8cC2239327C5EDb3A432268e5831', 6),
  nativeCoin(42161, 'ETH', 'Ether'),

  // Base's USDT is a bridged token.
  stablecoin(8453, 'USDT', '0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2', 6),
  stablecoin(8453, 'USDC', '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', 6),
  nativeCoin(8453, 'ETH', 'Ether'),
]);

// ---- operator configuration -------------------------------------------------------------------

const chainIdSchema = z
  .number()
  .int('must be a whole number')
  .positive('must be a positive chain id')
  .max(Number.MAX_SAFE_INTEGER);

const chainIdKeySchema = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'must be a chain id in decimal, such as "1" or "8453"');

const urlSchema = (protocols: RegExp, what: string) =>
  z
    .url({ protocol: protocols, error: `must be ${what} URL` })
    // URL parsing alone would take 'https:host' as 'https://host'; demand the form people mean.
    .refine((u) => /^[a-z]+:\/\/[^/]/i.test(u), `must be ${what} URL written as scheme://host`);

const rpcUrlSchema = urlSchema(/^(https?|wss?)$/, 'an http(s) or ws(s)');
const explorerUrlSchema = urlSchema(/^https?$/, 'an http(s)');

/** 'native' or a contract address, with the EIP-55 checks of parseAddress. */
const tokenAddressSchema = z.string().transform((text, ctx): Address | 'native' => {
  if (text === 'native') return 'native';
  try {
    return parseAddress(text);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    ctx.addIssue({ code: 'custom', message: `${error.message} (or "native" for the chain's own coin)` });
    return z.NEVER;
  }
});

export const assetRefSchema = z.strictObject({ chainId: chainIdSchema, token: tokenAddressSchema });

const chainOverrideSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64).optional(),
  nativeSymbol: z
    .string()
    .regex(/^[A-Za-z0-9.]{1,16}$/, 'must be 1 to 16 letters or digits, such as "ETH"')
    .optional(),
  confirmations: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1: unconfirmed payments can vanish in a reorg')
    .max(10_000)
    .optional(),
  finality: z.enum(FINALITY_MODES).optional(),
  /** Usually given through the separate RPC URL configuration, which wins when both name a chain. */
  rpcUrls: z.array(rpcUrlSchema).optional(),
  explorerUrl: explorerUrlSchema.nullable().optional(),
});

const tokenConfigSchema = z
  .strictObject({
    chainId: chainIdSchema,
    address: tokenAddressSchema,
    symbol: z.string().trim().min(1, 'must not be empty').max(16),
    name: z.string().trim().min(1, 'must not be empty').max(64),
    decimals: z.number().int('must be a whole number').min(0).max(36),
    /** Decimal string in whole units, e.g. "1" or "0.0005"; parsed against this token's decimals. */
    minFee: z.string(),
  })
  .transform((entry, ctx): Token => {
    if (entry.address === 'native' && entry.decimals !== NATIVE_DECIMALS) {
      ctx.addIssue({
        code: 'custom',
        path: ['decimals'],
        message: `native coins on EVM chains have ${NATIVE_DECIMALS} decimals, not ${entry.decimals}`,
      });
      return z.NEVER;
    }
    try {
      return {
        ...entry,
        minFee: parseAmount(entry.minFee, entry.decimals, { allowZero: true, symbol: entry.symbol }),
      };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      ctx.addIssue({ code: 'custom', path: ['minFee'], message: error.message });
      return z.NEVER;
    }
  });

/**
 * The operator's override of the defaults, as JSON: chains keyed by chain id (fields given replace the
 * default's, a new id adds a chain), tokens replacing a default with the same (chainId, address) or
 * adding one, and tokens to disable.
 */
export const registryConfigSchema = z.strictObject({
  chains: z.record(chainIdKeySchema, chainOverrideSchema).optional(),
  tokens: z.array(tokenConfigSchema).optional(),
  disabledTokens: z.array(assetRefSchema).optional(),
});
/** The JSON an operator writes. */
export type RegistryConfig = z.input<typeof registryConfigSchema>;
export type ParsedRegistryConfig = z.output<typeof registryConfigSchema>;

/** RPC endpoints per chain id: {"1": ["https://a", "https://b"]}. */
export const rpcUrlsSchema = z.record(
  chainIdKeySchema,
  z.array(rpcUrlSchema).min(1, 'must list at least one URL; leave the chain out to keep it inactive'),
);
export type RpcUrlsConfig = z.input<typeof rpcUrlsSchema>;

// ---- the registry -----------------------------------------------------------------------------

export interface AssetRegistry {
  chains(): readonly Chain[];
  /** Chains with at least one RPC URL: the ones that can be watched and paid on. */
  activeChains(): readonly Chain[];
  chain(chainId: number): Chain | undefined;
  tokens(chainId?: number): readonly Token[];
  /** Matches by contract address only, never by symbol. */
  findToken(ref: AssetRef): Token | undefined;
  requireToken(ref: AssetRef): Token;
  requireChain(chainId: number): Chain;
}

const configError = (what: string, problems: string[]): DomainError =>
  new DomainError(
    'registry_config_invalid',
    `${what} is invalid (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n` +
      problems.map((p) => `  - ${p}`).join('\n'),
    { problems },
  );

function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
  root: string,
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw configError(
    what,
    parsed.error.issues.map((issue) => {
      // zod reports a bad record key as "Invalid key in record"; the key's own rule says what to fix.
      const message =
        issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : issue.message;
      const path = [root, ...issue.path.map(String)].filter((part) => part !== '').join('.');
      return `${path || '(root)'}: ${message}`;
    }),
  );
}

const describeToken = (ref: AssetRef): string => (ref.token === 'native' ? 'native' : ref.token);

export function createRegistry(
  input: { overrides?: RegistryConfig; rpcUrls?: RpcUrlsConfig } = {},
): AssetRegistry {
  const overrides = parseOrThrow(
    registryConfigSchema,
    input.overrides ?? {},
    'The asset registry configuration',
    '',
  );
  const rpcUrls = parseOrThrow(rpcUrlsSchema, input.rpcUrls ?? {}, 'The RPC URL configuration', 'rpcUrls');
  const problems: string[] = [];

  const chains = new Map<number, Chain>(
    DEFAULT_CHAINS.map((c) => [c.chainId, { ...c, rpcUrls: [...c.rpcUrls] }]),
  );
  for (const [key, override] of Object.entries(overrides.chains ?? {})) {
    const chainId = Number.parseInt(key, 10);
    const given = Object.fromEntries(
      Object.entries(override).filter(([, v]) => v !== undefined),
    ) as typeof override;
    const existing = chains.get(chainId);
    if (existing) {
      chains.set(chainId, { ...existing, ...given });
      continue;
    }
    const { name, nativeSymbol, confirmations } = given;
    if (name === undefined || nativeSymbol === undefined || confirmations === undefined) {
      const missing = Object.entries({ name, nativeSymbol, confirmations })
        .filter(([, v]) => v === undefined)
        .map(([k]) => k);
      problems.push(`chains.${key}: chain ${key} is not a default chain, so it needs ${missing.join(', ')}`);
      continue;
    }
    chains.set(chainId, {
      chainId,
      name,
      nativeSymbol,
      confirmations,
      finality: given.finality ?? 'confirmations',
      rpcUrls: given.rpcUrls ?? [],
      explorerUrl: given.explorerUrl ?? null,
    });
  }

  for (const [key, urls] of Object.entries(rpcUrls)) {
    const existing = chains.get(Number.parseInt(key, 10));
    if (!existing) {
      problems.push(
        `rpcUrls.${key}: chain ${key} is not configured; add it under "chains" in the asset registry`,
      );
      continue;
    }
    existing.rpcUrls = [...new Set(urls)];
  }

  const tokens = new Map<string, Token>();
  for (const token of DEFAULT_TOKENS) {
    const owner = chains.get(token.chainId);
    // A renamed native coin (an operator changing nativeSymbol) keeps the token entry in step.
    const renamed = token.address === 'native' && owner && owner.nativeSymbol !== token.symbol;
    tokens.set(
      assetKey({ chainId: token.chainId, token: token.address }),
      renamed ? { ...token, symbol: owner.nativeSymbol, name: owner.nativeSymbol } : { ...token },
    );
  }
  for (const c of chains.values()) {
    const key = assetKey({ chainId: c.chainId, token: 'native' });
    if (!tokens.has(key)) {
      tokens.set(key, {
        chainId: c.chainId,
        address: 'native',
        symbol: c.nativeSymbol,
        name: c.nativeSymbol,
        decimals: NATIVE_DECIMALS,
        minFee: NATIVE_MIN_FEE,
      });
    }
  }

  const listedAt = new Map<string, number>();
  (overrides.tokens ?? []).forEach((token, i) => {
    const ref = { chainId: token.chainId, token: token.address };
    const key = assetKey(ref);
    const earlier = listedAt.get(key);
    if (earlier !== undefined) {
      problems.push(
        `tokens.${i}: ${describeToken(ref)} on chain ${token.chainId} is already listed at tokens.${earlier}; keep one entry per address`,
      );
      return;
    }
    listedAt.set(key, i);
    if (!chains.has(token.chainId)) {
      problems.push(
        `tokens.${i}: ${token.symbol} is on chain ${token.chainId}, which is not configured; add the chain under "chains" or fix the chainId`,
      );
      return;
    }
    tokens.set(key, token);
  });

  (overrides.disabledTokens ?? []).forEach((ref, i) => {
    if (!tokens.delete(assetKey(ref))) {
      problems.push(
        `disabledTokens.${i}: there is no token ${describeToken(ref)} on chain ${ref.chainId} to disable; check the chain id and address`,
      );
    }
  });

  if (problems.length > 0) throw configError('The asset registry configuration', problems);

  const chainList: readonly Chain[] = Object.freeze(
    [...chains.values()].map((c) =>
      Object.freeze({ ...c, rpcUrls: Object.freeze([...c.rpcUrls]) as string[] }),
    ),
  );
  const chainById = new Map(chainList.map((c) => [c.chainId, c]));
  const tokenList: readonly Token[] = Object.freeze([...tokens.values()].map((t) => Object.freeze({ ...t })));
  const tokenByKey = new Map(tokenList.map((t) => [assetKey({ chainId: t.chainId, token: t.address }), t]));
  const activeList: readonly Chain[] = Object.freeze(chainList.filter((c) => c.rpcUrls.length > 0));
  const tokensByChain = new Map<number, readonly Token[]>(
    chainList.map((c) => [c.chainId, Object.freeze(tokenList.filter((t) => t.chainId === c.chainId))]),
  );

  const requireChain = (chainId: number): Chain => {
    const found = chainById.get(chainId);
    if (found) return found;
    throw new DomainError(
      'chain_unknown',
      `Chain ${String(chainId)} is not configured; use one of: ${chainList.map((c) => `${c.chainId} (${c.name})`).join(', ')}`,
      { chainId },
    );
  };

  return {
    chains: () => chainList,
    activeChains: () => activeList,
    chain: (chainId) => chainById.get(chainId),
    tokens: (chainId) => (chainId === undefined ? tokenList : (tokensByChain.get(chainId) ?? [])),
    findToken: (ref) => tokenByKey.get(assetKey(ref)),
    requireToken: (ref) => {
      const found = tokenByKey.get(assetKey(ref));
      if (found) return found;
      const owner = chainById.get(ref.chainId);
      const configured = (tokensByChain.get(ref.chainId) ?? [])
        .map((t) => `${t.symbol} (${t.address})`)
        .join(', ');
      const message = !owner
        ? `Chain ${String(ref.chainId)} is not configured, so it has no asset ${describeToken(ref)}`
        : `${ref.token === 'native' ? 'The native coin' : `The token at ${ref.token}`} is not configured on ` +
          `${owner.name} (chain ${owner.chainId}). Assets are matched by contract address, never by symbol; ` +
          `configured there: ${configured || 'none'}`;
      throw new DomainError('asset_unknown', message, { chainId: ref.chainId, token: ref.token });
    },
    requireChain,
  };
}
