import { assetListSchema } from '@amanat/core/api';
import type { ApiContext } from '../context.ts';
import { defineRoute, type RouteDef } from '../http/route.ts';

export function assetRoutes(ctx: ApiContext): RouteDef[] {
  // The registry is fixed for the life of the process, so the answer is built once.
  const answer = {
    chains: ctx.registry.activeChains().map((chain) => ({
      chainId: chain.chainId,
      name: chain.name,
      nativeSymbol: chain.nativeSymbol,
      confirmations: chain.confirmations,
      explorerUrl: chain.explorerUrl,
      tokens: ctx.registry.tokens(chain.chainId).map((t) => ({
        token: t.address,
        symbol: t.symbol,
        name: t.name,
        decimals: t.decimals,
        minFee: t.minFee.toString(),
      })),
    })),
    feeBps: ctx.config.PLATFORM_FEE_BPS,
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/assets',
      operationId: 'listAssets',
      summary: 'The chains and tokens deals can be made in',
      tag: 'assets',
      auth: 'public',
      response: assetListSchema,
      handler: async () => answer,
    }),
  ];
}
