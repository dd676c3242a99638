import type { AssetList } from '@amanat/core/api';
import { findAsset } from '../deals/assets.ts';
import { formatMoney } from '../deals/units.ts';

/**
 * Amounts of payments made in a token other than the deal's (a stray payment, a wrong token sent to the
 * deposit address). Such an amount is in that token's base units, so it is read with that token's decimals
 * from GET /api/assets; a token the app does not list has no known decimals and stays in base units.
 */
export interface AssetRef {
  chainId: number;
  token: string;
}

export const sameAsset = (a: AssetRef, b: AssetRef): boolean =>
  a.chainId === b.chainId && a.token.toLowerCase() === b.token.toLowerCase();

export interface ForeignAmount {
  /** The amount in the token's own decimals, with its symbol ("2.5 USDC"). */
  money: string;
  /** The chain's name, for saying where the money is when it is not on the deal's chain. */
  chain: string;
  onDealChain: boolean;
}

/** The amount in its token's decimals, or null when the supported assets do not include the token. */
export function foreignAmount(
  assets: AssetList | null,
  payment: AssetRef & { amount: string | bigint },
  dealChainId: number,
): ForeignAmount | null {
  const found = findAsset(assets, payment);
  if (!found?.token) return null;
  return {
    money: formatMoney(payment.amount, found.token),
    chain: found.chain.name,
    onDealChain: found.chain.chainId === dealChainId,
  };
}
