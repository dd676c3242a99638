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

/** What is left to pay: what the deal says remains, or the whole amount before anything arrived. */
export function amountToPay(deal: {
  amountDue: string;
  funding: { status: string; remaining: string };
}): bigint {
  return deal.funding.status === 'unpaid' ? BigInt(deal.amountDue) : BigInt(deal.funding.remaining);
}

export type PaymentProgress =
  | { stage: 'waiting' }
  | { stage: 'confirming'; pending: number; seen: number | null }
  | { stage: 'partial'; pending: number }
  | { stage: 'funded' };

/**
 * Where the buyer's payment stands, from what the deal reports: nothing seen yet, seen and waiting for
 * confirmations (`seen`: the blocks on top of the least confirmed pending payment, when the API knows
 * the chain's head), confirmed but short, or fully funded.
 */
export function paymentProgress(deal: {
  funding: { status: string; confirming: string };
  payments: ReadonlyArray<{ status: string; confirmations?: number | null }>;
}): PaymentProgress {
  if (deal.funding.status === 'funded' || deal.funding.status === 'overpaid') return { stage: 'funded' };
  const pending = deal.payments.filter((p) => p.status === 'pending');
  if (deal.funding.status === 'partially_paid') return { stage: 'partial', pending: pending.length };
  if (pending.length > 0 || BigInt(deal.funding.confirming) > 0n) {
    const counts = pending.map((p) => p.confirmations).filter((c): c is number => typeof c === 'number');
    const seen = counts.length === pending.length && counts.length > 0 ? Math.min(...counts) : null;
    return { stage: 'confirming', pending: pending.length, seen };
  }
  return { stage: 'waiting' };
}
