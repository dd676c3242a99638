import type { AssetList } from '@amanat/core/api';
import { api } from '#lib/api/index.ts';
import { type CachedRead, cachedRead } from '#lib/offline/cache.ts';

type Chain = AssetList['chains'][number];
type Token = Chain['tokens'][number];

let inflight: Promise<CachedRead<AssetList>> | null = null;

const online = () => globalThis.navigator?.onLine !== false;

/**
 * The supported chains and tokens; they rarely change, so one network read per page load, kept for
 * offline. A read that could only answer from the device's copy is not kept: the next call, once the
 * browser is online, asks the network again.
 */
export function loadAssets(): Promise<CachedRead<AssetList>> {
  const current = inflight;
  if (current) {
    return current.then((read) => {
      if (!read.fromCache || !online()) return read;
      // Another caller may have started the fresh read already: share it.
      return inflight === current || !inflight ? refresh() : inflight;
    });
  }
  return refresh();
}

function refresh(): Promise<CachedRead<AssetList>> {
  const read = cachedRead('assets', () => api.assets()).catch((err) => {
    if (inflight === read) inflight = null;
    throw err;
  });
  inflight = read;
  return read;
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
