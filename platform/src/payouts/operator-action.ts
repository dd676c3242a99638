import { DomainError } from '@amanat/core';
import type { DealRecord } from '../deals/record.ts';
import type { ActOptions } from '../deals/store.ts';

/** What an operator's payout action (approve, retry) passes to the deal's change: its clock and version. */
export const operatorChangeOptions = (input: { now?: Date; expectedVersion?: number }): ActOptions => ({
  ...(input.now ? { now: input.now } : {}),
  ...(input.expectedVersion !== undefined ? { expectedVersion: input.expectedVersion } : {}),
});

/** An operator who is a party of the deal may not act on its payouts: that would be their own money. */
export function refuseOperatorParty(deal: DealRecord, operatorId: string, action: string): void {
  if (deal.seller?.userId === operatorId || deal.buyer?.userId === operatorId) {
    throw new DomainError(
      'operator_is_party',
      `An operator may not ${action} a payout of a deal they are a party to`,
    );
  }
}
