/**
 * EIP-681 payment links ("ethereum:…") that wallets open with the recipient, token and exact amount
 * filled in, so nobody retypes a deposit address or an amount.
 */

export interface PaymentRequest {
  chainId: number;
  /** Token contract address, or 'native' for the chain's own coin. */
  token: string;
  depositAddress: string;
  /** Base units. */
  units: bigint | string;
}

export function paymentLink(req: PaymentRequest): string {
  const units = BigInt(req.units).toString();
  if (units.startsWith('-')) throw new RangeError('A payment amount cannot be negative');
  if (req.token === 'native') return `ethereum:${req.depositAddress}@${req.chainId}?value=${units}`;
  return `ethereum:${req.token}@${req.chainId}/transfer?address=${req.depositAddress}&uint256=${units}`;
}
