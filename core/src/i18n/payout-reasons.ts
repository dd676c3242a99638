/**
 * Why the payout signer gave a payout up: the review reason `payout_failed:<record>:<why>`, in words. One
 * catalogue for the operators' Telegram alerts (core) and the app's review screen; plain data, so the
 * app can import it without the rest of core.
 */

/** What a payout record pays (English: the subject of "… failed"; Russian: the object of "не удалось выполнить …"). */
export const PAYOUT_RECORDS = {
  seller: { en: 'The payout to the seller', ru: 'выплату продавцу' },
  fee: { en: 'The platform fee payout', ru: 'выплату комиссии платформы' },
  buyer_excess: { en: 'The refund of the overpayment to the buyer', ru: 'возврат переплаты покупателю' },
  buyer_refund: { en: 'The refund to the buyer', ru: 'возврат покупателю' },
  buyer_share: { en: 'The payout of the buyer’s share', ru: 'выплату доли покупателя' },
  stray_refund: { en: 'The return of a stray payment', ru: 'возврат постороннего платежа' },
  stray_accept: {
    en: 'The payout of accepted stray funds to the seller',
    ru: 'выплату принятых средств продавцу',
  },
  gas_topup: { en: 'The gas top-up of the deposit address', ru: 'пополнение газа для адреса депозита' },
} as const;

/** Why the payout was given up. */
export const PAYOUT_FAILURES = {
  destination_mismatch: {
    en: 'the recipient is not the address frozen in the deal',
    ru: 'получатель не совпадает с адресом, зафиксированным в сделке',
  },
  destination_invalid: {
    en: 'the recipient is not a valid EIP-55 address',
    ru: 'адрес получателя не проходит проверку EIP-55',
  },
  fee_address_missing: {
    en: 'no platform fee address (FEE_ADDRESS) is configured',
    ru: 'не настроен адрес комиссии платформы (FEE_ADDRESS)',
  },
  chain_unavailable: {
    en: 'the payout signer has no RPC endpoint for its chain',
    ru: 'у подписчика выплат нет RPC-узла для этой сети',
  },
  token_paused: { en: 'the token contract is paused', ru: 'контракт токена приостановлен' },
  sender_blacklisted: {
    en: 'the token has blacklisted the deposit address',
    ru: 'токен заблокировал адрес депозита',
  },
  insufficient_balance: {
    en: 'the deposit address holds less than the payouts need',
    ru: 'на адресе депозита меньше, чем нужно для выплат',
  },
  gas_tank_empty: {
    en: 'the gas tank holds too little native coin; refill it',
    ru: 'в газовом резерве недостаточно нативной монеты; пополните его',
  },
  reverted: { en: 'the transaction was mined but reverted', ru: 'транзакция попала в блок, но откатилась' },
  insufficient_funds: {
    en: 'the node refused the transaction for lack of funds',
    ru: 'узел отклонил транзакцию из-за нехватки средств',
  },
  scanner_mismatch: {
    en: 'the scanner saw the transaction move something other than its receipt shows',
    ru: 'сканер увидел, что транзакция перевела не то, что указано в её квитанции',
  },
} as const;

/**
 * The text of `payout_failed:<record>:<why>`, or null when either part is unknown. It says what failed
 * and why, nothing about what happens next: some causes (an empty gas tank the top-up waits on) clear by
 * themselves once fixed, others need a person.
 */
export function payoutFailureSentence(
  recordKey: string,
  causeKey: string,
): { en: string; ru: string } | null {
  if (!Object.hasOwn(PAYOUT_RECORDS, recordKey) || !Object.hasOwn(PAYOUT_FAILURES, causeKey)) return null;
  const record = PAYOUT_RECORDS[recordKey as keyof typeof PAYOUT_RECORDS];
  const cause = PAYOUT_FAILURES[causeKey as keyof typeof PAYOUT_FAILURES];
  return {
    en: `${record.en} failed: ${cause.en}.`,
    ru: `Не удалось выполнить ${record.ru}: ${cause.ru}.`,
  };
}
