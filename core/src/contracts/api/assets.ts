import { z } from 'zod';

/** The chains and tokens deals can be made in (GET /api/assets). */
export const assetListSchema = z
  .object({
    chains: z.array(
      z.object({
        chainId: z.number().int(),
        name: z.string(),
        nativeSymbol: z.string(),
        confirmations: z.number().int(),
        explorerUrl: z.string().nullable(),
        tokens: z.array(
          z.object({
            token: z.string().describe('Contract address (EIP-55) or "native"'),
            symbol: z.string(),
            name: z.string(),
            decimals: z.number().int(),
            minFee: z.string().describe('Base units'),
          }),
        ),
      }),
    ),
    feeBps: z.number().int(),
  })
  .meta({ id: 'Assets' });

export type AssetList = z.output<typeof assetListSchema>;
