import { PAYOUT_FAILURES, PAYOUT_RECORDS, payoutFailureSentence } from '@amanat/core/payout-reasons';
import type { Messages } from './locale.svelte.ts';

/**
 * Review reasons the payout signer raises, `payout_failed:<record>:<why>`: every combination gets its own
 * message (the review screen looks reasons up by key), built from the two lists below.
 */
type PayoutFailureKey = `payout_failed:${keyof typeof PAYOUT_RECORDS}:${keyof typeof PAYOUT_FAILURES}`;

function payoutFailureMessages(locale: 'en' | 'ru'): Record<PayoutFailureKey, string> {
  const out: Record<string, string> = {};
  for (const record of Object.keys(PAYOUT_RECORDS)) {
    for (const failure of Object.keys(PAYOUT_FAILURES)) {
      const text = payoutFailureSentence(record, failure);
      if (text) out[`payout_failed:${record}:${failure}`] = text[locale];
    }
  }
  return out as Record<PayoutFailureKey, string>;
}

/**
 * A `balance_drift:<chainId>:<token>:<onchain>:<ledger>` reason (the reconciliation job: the deposit
 * address's balance differs from the ledger) as its message and parameters, or null for any other reason.
 */
export function balanceDriftMessage(
  reason: string,
): { key: 'balance_drift' | 'balance_drift_native'; params: Record<string, string> } | null {
  const match = /^balance_drift:(\d+):(native|0x[0-9a-f]{40}):(-?\d+):(-?\d+)$/.exec(reason);
  if (!match) return null;
  const [, chainId = '', token = '', onchain = '', ledger = ''] = match;
  return {
    key: token === 'native' ? 'balance_drift_native' : 'balance_drift',
    params: { chainId, token, onchain, ledger },
  };
}

/** A `payout_approval_required:<payout id>` reason (a payout above the approval threshold), or null. */
export function payoutApprovalMessage(
  reason: string,
): { key: 'payout_approval_required'; params: Record<string, string> } | null {
  const match = /^payout_approval_required:(\d+)$/.exec(reason);
  return match ? { key: 'payout_approval_required', params: { id: match[1] ?? '' } } : null;
}

export const reviewMessages: Messages<
  | PayoutFailureKey
  | 'payout_approval_required'
  | 'awaiting'
  | 'awaitingHint'
  | 'payoutLine'
  | 'payoutId'
  | 'feeAddress'
  | 'kind_seller'
  | 'kind_fee'
  | 'kind_buyer_excess'
  | 'kind_buyer_refund'
  | 'kind_buyer_share'
  | 'kind_stray_refund'
  | 'kind_stray_accept'
  | 'approvePayout'
  | 'approveHint'
  | 'confirmApprove'
  | 'payout_not_awaiting_approval'
  | 'payout_not_found'
  | 'kind_gas_topup'
  | 'failedTitle'
  | 'failedHint'
  | 'failedBecause'
  | 'notRetryable'
  | 'retryPayouts'
  | 'retryHint'
  | 'confirmRetry'
  | 'nothing_to_retry'
  | 'payout_not_retryable'
  | 'title'
  | 'notForRole'
  | 'intro'
  | 'none'
  | 'loading'
  | 'loadFailed'
  | 'retry'
  | 'more'
  | 'openDeal'
  | 'flagged'
  | 'notFlagged'
  | 'reasons'
  | 'reasonOther'
  | 'late_payment'
  | 'foreign_asset'
  | 'denylisted_sender'
  | 'funding_lost_after_progress'
  | 'funds_changed_after_close'
  | 'balance_drift'
  | 'balance_drift_native'
  | 'held'
  | 'due'
  | 'stray'
  | 'noStray'
  | 'class_late'
  | 'class_foreign'
  | 'class_denylisted'
  | 'from'
  | 'tx'
  | 'otherAsset'
  | 'otherChain'
  | 'unconfirmed'
  | 'decided'
  | 'decidedRefund'
  | 'decidedAccept'
  | 'payoutStatus'
  | 'actions'
  | 'clearReview'
  | 'clearHint'
  | 'resolveReview'
  | 'resolveHint'
  | 'resolveRelease'
  | 'resolveRefund'
  | 'decideStray'
  | 'refundSender'
  | 'acceptIntoDeal'
  | 'acceptNotAllowed'
  | 'refundAddress'
  | 'refundAddressHint'
  | 'senderConfirmed'
  | 'note'
  | 'noteHint'
  | 'noteRequired'
  | 'addressRequired'
  | 'confirmRequired'
  | 'continue'
  | 'cancel'
  | 'confirmTitle'
  | 'confirmClear'
  | 'confirmRelease'
  | 'confirmRefundAll'
  | 'confirmRefundNothing'
  | 'confirmStrayRefund'
  | 'confirmStrayAccept'
  | 'confirmNote'
  | 'confirm'
  | 'done'
  | 'needsNetwork'
  | 'version_conflict'
  | 'review_not_flagged'
  | 'funding_intact'
  | 'payments_confirming'
  | 'not_funded'
  | 'stray_funds_already_decided'
  | 'payment_changed'
  | 'payment_not_stray'
  | 'payment_not_confirmed'
  | 'payment_not_found'
  | 'action_not_allowed_in_state'
  | 'operator_is_party'
  | 'foreign_asset_not_acceptable'
  | 'denylisted_funds_not_acceptable'
  | 'address_required'
  | 'payout_address_missing'
> = {
  en: {
    ...payoutFailureMessages('en'),
    payout_approval_required:
      'Payout #{id} is above the approval threshold and waits for an operator to approve it (below).',
    awaiting: 'Payouts waiting for approval',
    awaitingHint:
      'Each is above the approval threshold for its asset. Nothing is sent until you approve it; the deal’s other payouts go on.',
    payoutLine: '{kind}: {amount} to {recipient}',
    payoutId: 'Payout #{id}',
    feeAddress: 'the platform fee address',
    kind_seller: 'To the seller',
    kind_fee: 'Platform fee',
    kind_buyer_excess: 'Overpayment back to the buyer',
    kind_buyer_refund: 'Refund to the buyer',
    kind_buyer_share: 'The buyer’s share',
    kind_stray_refund: 'Stray payment returned',
    kind_stray_accept: 'Accepted stray funds to the seller',
    approvePayout: 'Approve payout',
    approveHint:
      'Approve only once you are sure the recipient is right: the payout signer sends it as soon as you confirm.',
    confirmApprove: 'Send {amount} to {recipient} ({kind}, payout #{id}).',
    payout_not_awaiting_approval:
      'This payout is no longer waiting for approval (it was approved meanwhile). The list has been reloaded.',
    payout_not_found: 'This payout no longer exists. The list has been reloaded.',
    kind_gas_topup: 'Gas top-up of the deposit address',
    failedTitle: 'Failed payouts',
    failedHint:
      'Nothing retries these by itself. Fix the cause first (a paused token, an empty gas tank…), then send them again.',
    failedBecause: 'It failed: {failure}',
    notRetryable:
      'A transaction of it was mined without reverting, so it may have paid: check the chain by hand. It is never sent again from here.',
    retryPayouts: 'Send failed payouts again',
    retryHint:
      'Each failed payout goes back to the payout signer, which checks it again before sending. If the cause is still there, it fails and flags the deal again.',
    confirmRetry: 'Send {amount} to {recipient} ({kind}) again.',
    nothing_to_retry: 'This deal has no failed payout any more. The list has been reloaded.',
    payout_not_retryable:
      'Every failed payout of this deal may have paid already (a transaction was mined): check the chain by hand.',
    title: 'Review',
    notForRole: 'Review is for operators. Your account does not have that role.',
    intro: 'Deals flagged for review and payments that reached a deal but were not counted.',
    none: 'Nothing needs review right now.',
    loading: 'Loading…',
    loadFailed: 'Could not load: {message}',
    retry: 'Try again',
    more: 'Show more',
    openDeal: 'Open the deal',
    flagged: 'Flagged for review: releases wait until it is cleared.',
    notFlagged: 'Not flagged; only stray payments wait for a decision.',
    reasons: 'Why',
    reasonOther: 'Flagged with the reason: “{reason}”',
    late_payment: 'A payment arrived after the payment window. It is recorded but not counted.',
    foreign_asset:
      'A payment arrived in another token or on another chain than the deal’s. It is recorded but not counted.',
    denylisted_sender: 'A payment came from a sender on the denylist. It is recorded but not counted.',
    funding_lost_after_progress:
      'A payment the deal relied on was reversed on the chain (a reorganisation) after the deal moved on.',
    funds_changed_after_close: 'The money at the deposit address changed after the deal was settled.',
    balance_drift:
      'On chain {chainId}, the deposit address holds {onchain} base units of token {token}, but the ledger accounts for {ledger}: money arrived or left without a record.',
    balance_drift_native:
      'On chain {chainId}, the deposit address holds {onchain} base units of the native coin, but the ledger accounts for {ledger}: money arrived or left without a record.',
    held: 'Confirmed in escrow: {amount}',
    due: 'Due: {amount}',
    stray: 'Payments not counted',
    noStray: 'No stray payments.',
    class_late: 'Late',
    class_foreign: 'Other asset',
    class_denylisted: 'Denylisted sender',
    from: 'From',
    tx: 'Transaction',
    otherAsset: '{amount} base units of token {token} on chain {chainId}',
    otherChain: '{money} on {chain}',
    unconfirmed: 'Not confirmed yet: it can be decided once confirmed.',
    decided: 'Decided on {time}',
    decidedRefund: 'Refund to {address}',
    decidedAccept: 'Accepted into the deal, paid to the seller at {address}',
    payoutStatus: 'Payout: {status}',
    actions: 'Actions',
    clearReview: 'Clear the review',
    clearHint: 'Nothing is wrong with the deal itself: it continues, and lapsed deadlines are armed again.',
    resolveReview: 'Settle the deal',
    resolveHint: 'Funding was lost after the deal moved on: pay out what is confirmed now.',
    resolveRelease: 'Release what is confirmed to the seller (less the fee)',
    resolveRefund: 'Refund what is confirmed to the buyer',
    decideStray: 'Decide this payment',
    refundSender: 'Refund it to the sender',
    acceptIntoDeal: 'Accept it into the deal (paid to the seller)',
    acceptNotAllowed: 'Funds in another asset or from a denylisted sender can only be refunded.',
    refundAddress: 'Refund address',
    refundAddressHint: 'An address the sender confirmed to you. It is never taken from the payment itself.',
    senderConfirmed: 'The sender confirmed this address to me',
    note: 'Note for the record',
    noteHint: 'Required. It goes into the deal’s activity log.',
    noteRequired: 'Write a note.',
    addressRequired: 'Enter a valid address.',
    confirmRequired: 'Confirm that the sender gave you this address.',
    continue: 'Continue',
    cancel: 'Cancel',
    confirmTitle: 'Confirm',
    confirmClear: 'Clear the review of “{title}”.',
    confirmRelease: 'Pay {amount} confirmed in escrow to the seller at {address}, less the platform fee.',
    confirmRefundAll: 'Refund {amount} confirmed in escrow to the buyer at {address}.',
    confirmRefundNothing: 'Nothing confirmed is left: the deal closes as refunded with no payout.',
    confirmStrayRefund: 'Refund {amount} to {address}.',
    confirmStrayAccept: 'Pay {amount} to the seller at {address}.',
    confirmNote: 'Note: {note}',
    confirm: 'Confirm',
    done: 'Done.',
    needsNetwork: 'This needs the network. Connect and try again.',
    version_conflict: 'The deal changed meanwhile. The list has been reloaded: check it and decide again.',
    review_not_flagged: 'The deal is no longer flagged for review.',
    funding_intact:
      'The deal is still fully funded: clear the review instead and let the deal run its course.',
    payments_confirming: 'A payment to this deal is still confirming. Decide once it has settled.',
    not_funded: 'Nothing confirmed is left in escrow to release to the seller.',
    stray_funds_already_decided: 'This payment has already been decided.',
    payment_changed: 'This payment changed on the chain meanwhile. The list has been reloaded.',
    payment_not_stray: 'This payment counts for the deal; there is nothing to decide.',
    payment_not_confirmed: 'This payment is not confirmed yet.',
    payment_not_found: 'This deal has no such payment.',
    action_not_allowed_in_state: 'The deal’s state no longer allows this.',
    operator_is_party: 'You are a party to this deal, so you may not decide it.',
    foreign_asset_not_acceptable:
      'Funds in another asset can only be refunded to an address the sender confirms.',
    denylisted_funds_not_acceptable: 'Funds from a denylisted sender are never accepted into a deal.',
    address_required: 'The seller has not given a payout address to accept the funds to.',
    payout_address_missing: 'A party has not given an address to pay to.',
  },
  ru: {
    ...payoutFailureMessages('ru'),
    payout_approval_required:
      'Выплата №{id} превышает порог одобрения и ждёт, пока оператор её одобрит (ниже).',
    awaiting: 'Выплаты, ожидающие одобрения',
    awaitingHint:
      'Каждая превышает порог одобрения для своего актива. Ничего не отправляется, пока вы не одобрите; остальные выплаты по сделке идут своим ходом.',
    payoutLine: '{kind}: {amount} на {recipient}',
    payoutId: 'Выплата №{id}',
    feeAddress: 'адрес комиссии платформы',
    kind_seller: 'Продавцу',
    kind_fee: 'Комиссия платформы',
    kind_buyer_excess: 'Возврат переплаты покупателю',
    kind_buyer_refund: 'Возврат покупателю',
    kind_buyer_share: 'Доля покупателя',
    kind_stray_refund: 'Возврат постороннего платежа',
    kind_stray_accept: 'Принятые средства продавцу',
    approvePayout: 'Одобрить выплату',
    approveHint:
      'Одобряйте, только убедившись, что получатель верный: подписчик выплат отправит её сразу после подтверждения.',
    confirmApprove: 'Отправить {amount} на {recipient} ({kind}, выплата №{id}).',
    payout_not_awaiting_approval:
      'Эта выплата больше не ждёт одобрения (её уже одобрили). Список перезагружен.',
    payout_not_found: 'Этой выплаты больше нет. Список перезагружен.',
    kind_gas_topup: 'Пополнение газа депозитного адреса',
    failedTitle: 'Неудавшиеся выплаты',
    failedHint:
      'Сами они не повторяются. Сначала устраните причину (токен на паузе, пустой газовый резерв…), затем отправьте их снова.',
    failedBecause: 'Причина сбоя: {failure}',
    notRetryable:
      'Её транзакция была включена в блок без отката, так что выплата могла пройти: проверьте блокчейн вручную. Отсюда она больше не отправляется.',
    retryPayouts: 'Отправить неудавшиеся выплаты снова',
    retryHint:
      'Каждая неудавшаяся выплата возвращается подписчику выплат, который проверит её ещё раз перед отправкой. Если причина осталась, выплата снова не пройдёт и сделка снова будет отмечена.',
    confirmRetry: 'Снова отправить {amount} на {recipient} ({kind}).',
    nothing_to_retry: 'У этой сделки больше нет неудавшихся выплат. Список перезагружен.',
    payout_not_retryable:
      'Все неудавшиеся выплаты этой сделки могли уже пройти (транзакция была включена в блок): проверьте блокчейн вручную.',
    title: 'Проверка',
    notForRole: 'Проверка доступна только операторам. У вашего аккаунта нет этой роли.',
    intro: 'Сделки, отмеченные для проверки, и платежи, которые пришли на сделку, но не были засчитаны.',
    none: 'Сейчас нечего проверять.',
    loading: 'Загрузка…',
    loadFailed: 'Не удалось загрузить: {message}',
    retry: 'Повторить',
    more: 'Показать ещё',
    openDeal: 'Открыть сделку',
    flagged: 'Отмечена для проверки: выплаты ждут, пока отметку не снимут.',
    notFlagged: 'Не отмечена; решения ждут только лишние платежи.',
    reasons: 'Почему',
    reasonOther: 'Отмечена с причиной: «{reason}»',
    late_payment: 'Платёж пришёл после окончания срока оплаты. Он записан, но не засчитан.',
    foreign_asset:
      'Пришёл платёж в другом токене или в другой сети, чем у сделки. Он записан, но не засчитан.',
    denylisted_sender: 'Пришёл платёж от отправителя из стоп-листа. Он записан, но не засчитан.',
    funding_lost_after_progress:
      'Платёж, на котором держалась сделка, отменён в блокчейне (реорганизация) после того, как сделка продвинулась дальше.',
    funds_changed_after_close: 'Сумма на адресе депозита изменилась после расчёта по сделке.',
    balance_drift:
      'В сети {chainId} на адресе депозита {onchain} минимальных единиц токена {token}, а по учёту должно быть {ledger}: средства пришли или ушли без записи.',
    balance_drift_native:
      'В сети {chainId} на адресе депозита {onchain} минимальных единиц нативной монеты, а по учёту должно быть {ledger}: средства пришли или ушли без записи.',
    held: 'Подтверждено на эскроу: {amount}',
    due: 'К оплате: {amount}',
    stray: 'Незасчитанные платежи',
    noStray: 'Лишних платежей нет.',
    class_late: 'Опоздал',
    class_foreign: 'Другой актив',
    class_denylisted: 'Отправитель из стоп-листа',
    from: 'От',
    tx: 'Транзакция',
    otherAsset: '{amount} минимальных единиц токена {token} в сети {chainId}',
    otherChain: '{money} в сети {chain}',
    unconfirmed: 'Ещё не подтверждён: решение можно принять после подтверждения.',
    decided: 'Решено {time}',
    decidedRefund: 'Возврат на {address}',
    decidedAccept: 'Принят в сделку, выплата продавцу на {address}',
    payoutStatus: 'Выплата: {status}',
    actions: 'Действия',
    clearReview: 'Снять отметку проверки',
    clearHint: 'Со сделкой всё в порядке: она продолжается, истёкшие сроки снова взводятся.',
    resolveReview: 'Завершить сделку',
    resolveHint: 'Оплата пропала после того, как сделка продвинулась: выплатить то, что подтверждено сейчас.',
    resolveRelease: 'Выплатить подтверждённое продавцу (за вычетом комиссии)',
    resolveRefund: 'Вернуть подтверждённое покупателю',
    decideStray: 'Решить по этому платежу',
    refundSender: 'Вернуть отправителю',
    acceptIntoDeal: 'Принять в сделку (выплатить продавцу)',
    acceptNotAllowed: 'Средства в другом активе или от отправителя из стоп-листа можно только вернуть.',
    refundAddress: 'Адрес возврата',
    refundAddressHint: 'Адрес, который подтвердил вам отправитель. Он никогда не берётся из самого платежа.',
    senderConfirmed: 'Отправитель подтвердил мне этот адрес',
    note: 'Комментарий для журнала',
    noteHint: 'Обязательно. Попадает в журнал сделки.',
    noteRequired: 'Напишите комментарий.',
    addressRequired: 'Введите правильный адрес.',
    confirmRequired: 'Подтвердите, что этот адрес дал вам отправитель.',
    continue: 'Продолжить',
    cancel: 'Отмена',
    confirmTitle: 'Подтверждение',
    confirmClear: 'Снять отметку проверки со сделки «{title}».',
    confirmRelease: 'Выплатить {amount} с эскроу продавцу на {address} за вычетом комиссии платформы.',
    confirmRefundAll: 'Вернуть {amount} с эскроу покупателю на {address}.',
    confirmRefundNothing:
      'Подтверждённых средств не осталось: сделка закроется как возвращённая без выплаты.',
    confirmStrayRefund: 'Вернуть {amount} на {address}.',
    confirmStrayAccept: 'Выплатить {amount} продавцу на {address}.',
    confirmNote: 'Комментарий: {note}',
    confirm: 'Подтвердить',
    done: 'Готово.',
    needsNetwork: 'Для этого нужна сеть. Подключитесь и попробуйте снова.',
    version_conflict: 'Сделка тем временем изменилась. Список перезагружен: проверьте и решите снова.',
    review_not_flagged: 'Сделка больше не отмечена для проверки.',
    funding_intact:
      'Сделка по-прежнему полностью оплачена: снимите отметку, и пусть сделка идёт своим ходом.',
    payments_confirming: 'Платёж по сделке ещё подтверждается. Решите, когда он завершится.',
    not_funded: 'На эскроу не осталось подтверждённых средств для выплаты продавцу.',
    stray_funds_already_decided: 'По этому платежу уже принято решение.',
    payment_changed: 'Этот платёж тем временем изменился в блокчейне. Список перезагружен.',
    payment_not_stray: 'Этот платёж засчитан в сделку; решать нечего.',
    payment_not_confirmed: 'Этот платёж ещё не подтверждён.',
    payment_not_found: 'У сделки нет такого платежа.',
    action_not_allowed_in_state: 'Состояние сделки больше не позволяет это сделать.',
    operator_is_party: 'Вы участник этой сделки и не можете её решать.',
    foreign_asset_not_acceptable:
      'Средства в другом активе можно только вернуть на адрес, подтверждённый отправителем.',
    denylisted_funds_not_acceptable: 'Средства от отправителя из стоп-листа никогда не принимаются в сделку.',
    address_required: 'Продавец не указал адрес для выплаты, на который можно принять средства.',
    payout_address_missing: 'Одна из сторон не указала адрес для выплаты.',
  },
};
