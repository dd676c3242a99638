import type { AssetList } from '@amanat/core/api';
import { api } from '#lib/api/index.ts';
import { type CachedRead, cachedRead } from '#lib/offline/cache.ts';

type Chain = AssetList['chains'][number];
type Token = Chain['tokens'][number];

let inflight: Promise<CachedRead<AssetList>> | null = null;

/** The supported chains and tokens; they rarely change, so one read per page load, kept for offline. */
export function loadAssets(): Promise<CachedRead<AssetList>> {
  inflight ??= cachedRead('assets', () => api.assets()).catch((err) => {
    inflight = null;
    throw err;
  });
  return inflight;
}

const sameToken = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function findAsset(
  assets: AssetList | null,
  ref: { chainId: number; token: string },
): { chain: Chain; token: Token | null } | null {
  const chain = assets?.chains.find((c) => c.chainId === ref.chainId);
  if (!chain) return null;
  return { chain, token: chain.tokens.find((t) => sameToken(t.token, ref.token)) ?? null };
}
