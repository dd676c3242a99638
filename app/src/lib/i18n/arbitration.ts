import type { Messages } from './locale.svelte.ts';

export const arbitrationMessages: Messages<
  | 'title'
  | 'notForRole'
  | 'intro'
  | 'none'
  | 'loading'
  | 'loadFailed'
  | 'retry'
  | 'more'
  | 'back'
  | 'updated'
  | 'price'
  | 'held'
  | 'parties'
  | 'seller'
  | 'buyer'
  | 'noParty'
  | 'noAddress'
  | 'address'
  | 'dispute'
  | 'openedBy'
  | 'noReason'
  | 'messages'
  | 'noMessages'
  | 'arbitrator'
  | 'operator'
  | 'system'
  | 'payments'
  | 'noPayments'
  | 'paymentLine'
  | 'from'
  | 'tx'
  | 'paymentPending'
  | 'paymentConfirmed'
  | 'paymentReorged'
  | 'postTitle'
  | 'postLabel'
  | 'post'
  | 'posted'
  | 'queued'
  | 'resolveTitle'
  | 'notDisputed'
  | 'needsReview'
  | 'notFunded'
  | 'outcomeLegend'
  | 'release'
  | 'releaseHint'
  | 'refund'
  | 'refundHint'
  | 'split'
  | 'splitHint'
  | 'splitAmount'
  | 'splitAmountHint'
  | 'note'
  | 'review'
  | 'confirmTitle'
  | 'confirmIntro'
  | 'toSeller'
  | 'toBuyerExcess'
  | 'toBuyerRefund'
  | 'toBuyerShare'
  | 'toPlatform'
  | 'nothingPaid'
  | 'confirm'
  | 'change'
  | 'resolved'
  | 'needsNetwork'
  | 'versionConflict'
  | 'empty'
  | 'not_a_number'
  | 'too_many_decimals'
  | 'not_positive'
  | 'above_held'
  | 'feesUnavailable'
  | 'isParty'
  | 'otherAsset'
  | 'otherChain'
  | 'staleDecision'
> = {
  en: {
    title: 'Arbitration',
    notForRole: 'Arbitration is for arbitrators. Your account does not have that role.',
    intro: 'Disputed deals waiting for a decision.',
    none: 'No disputed deals right now.',
    loading: 'Loading…',
    loadFailed: 'Could not load: {message}',
    retry: 'Try again',
    more: 'Show more',
    back: 'All disputes',
    updated: 'Updated {time}',
    price: 'Price',
    held: 'Held in escrow',
    parties: 'Parties',
    seller: 'Seller',
    buyer: 'Buyer',
    noParty: 'Not joined',
    noAddress: 'No address given',
    address: 'Address',
    dispute: 'Dispute',
    openedBy: 'Opened by the {role} on {time}',
    noReason: 'No dispute reason was recorded.',
    messages: 'Messages',
    noMessages: 'No messages yet.',
    arbitrator: 'Arbitrator',
    operator: 'Operator',
    system: 'Amanat',
    payments: 'Payments',
    noPayments: 'No payments recorded.',
    paymentLine: '{amount} on {time}',
    from: 'From',
    tx: 'Transaction',
    paymentPending: 'confirming',
    paymentConfirmed: 'confirmed',
    paymentReorged: 'reversed on the chain',
    postTitle: 'Write to both parties',
    postLabel: 'Message',
    post: 'Post message',
    posted: 'Message posted.',
    queued: 'You are offline: the message will be posted when you are back online.',
    resolveTitle: 'Resolve',
    notDisputed: 'This deal is no longer disputed; there is nothing to resolve.',
    needsReview:
      'The deal is flagged for review: an operator must clear it before the dispute can be resolved.',
    notFunded: 'The deal is not fully funded by confirmed payments, so only a refund is possible.',
    outcomeLegend: 'Decision',
    release: 'Release to the seller',
    releaseHint: 'The seller gets the money less the fee.',
    refund: 'Refund the buyer',
    refundHint: 'The buyer gets everything held back; no fee.',
    split: 'Split',
    splitHint: 'The buyer gets an amount you set; the seller the rest, less the fee on it.',
    splitAmount: 'Buyer gets ({symbol})',
    splitAmountHint: 'At most {max} {symbol}, what the escrow holds.',
    note: 'Note for the record (optional)',
    review: 'Review the payouts',
    confirmTitle: 'Confirm the decision',
    confirmIntro: 'These payouts will be made from the {held} {symbol} held. This cannot be undone.',
    toSeller: 'Seller {name}: {amount} to {address}',
    toBuyerExcess: 'Buyer {name}: {amount} overpaid, returned to {address}',
    toBuyerRefund: 'Buyer {name}: {amount} refunded to {address}',
    toBuyerShare: 'Buyer {name}: {amount} to {address}',
    toPlatform: 'Platform fee: {amount}',
    nothingPaid: 'Nothing is held in escrow; no payouts will be made.',
    confirm: 'Resolve the dispute',
    change: 'Change the decision',
    resolved: 'The dispute is resolved. The payouts are recorded and will be sent.',
    needsNetwork: 'Resolving a dispute needs the network. Connect and try again.',
    versionConflict:
      'The deal changed while you were deciding. It has been reloaded: check it and decide again.',
    empty: 'Enter the buyer’s amount.',
    not_a_number: 'Enter a number, like 12.5.',
    too_many_decimals: 'This token has fewer decimal places.',
    not_positive: 'The amount must be above zero; to give the buyer nothing, release to the seller.',
    above_held: 'That is more than the escrow holds.',
    feesUnavailable: 'The payout calculation could not be loaded: {message}',
    isParty: 'You are a party to this deal, so you may not decide it.',
    otherAsset: '{amount} base units of token {token} on chain {chainId}',
    otherChain: '{money} on {chain}',
    staleDecision: 'That decision was prepared for another deal. Review the payouts of this deal again.',
  },
  ru: {
    title: 'Арбитраж',
    notForRole: 'Арбитраж доступен только арбитрам. У вашего аккаунта нет этой роли.',
    intro: 'Спорные сделки, ожидающие решения.',
    none: 'Сейчас нет спорных сделок.',
    loading: 'Загрузка…',
    loadFailed: 'Не удалось загрузить: {message}',
    retry: 'Повторить',
    more: 'Показать ещё',
    back: 'Все споры',
    updated: 'Обновлено {time}',
    price: 'Цена',
    held: 'На эскроу',
    parties: 'Стороны',
    seller: 'Продавец',
    buyer: 'Покупатель',
    noParty: 'Не присоединился',
    noAddress: 'Адрес не указан',
    address: 'Адрес',
    dispute: 'Спор',
    openedBy: 'Открыт: {role}, {time}',
    noReason: 'Причина спора не записана.',
    messages: 'Сообщения',
    noMessages: 'Сообщений пока нет.',
    arbitrator: 'Арбитр',
    operator: 'Оператор',
    system: 'Amanat',
    payments: 'Платежи',
    noPayments: 'Платежей нет.',
    paymentLine: '{amount}, {time}',
    from: 'От',
    tx: 'Транзакция',
    paymentPending: 'подтверждается',
    paymentConfirmed: 'подтверждён',
    paymentReorged: 'отменён в блокчейне',
    postTitle: 'Написать обеим сторонам',
    postLabel: 'Сообщение',
    post: 'Отправить сообщение',
    posted: 'Сообщение отправлено.',
    queued: 'Нет сети: сообщение будет отправлено, когда сеть появится.',
    resolveTitle: 'Решение',
    notDisputed: 'Сделка больше не в споре; решать нечего.',
    needsReview:
      'Сделка отмечена для проверки: оператор должен снять отметку, прежде чем спор можно будет решить.',
    notFunded: 'Сделка не полностью оплачена подтверждёнными платежами, поэтому возможен только возврат.',
    outcomeLegend: 'Решение',
    release: 'Выплатить продавцу',
    releaseHint: 'Продавец получает деньги за вычетом комиссии.',
    refund: 'Вернуть покупателю',
    refundHint: 'Покупатель получает обратно всё, что на эскроу; без комиссии.',
    split: 'Разделить',
    splitHint: 'Покупатель получает указанную вами сумму, продавец — остаток за вычетом комиссии с него.',
    splitAmount: 'Покупатель получает ({symbol})',
    splitAmountHint: 'Не больше {max} {symbol} — столько на эскроу.',
    note: 'Комментарий для журнала (необязательно)',
    review: 'Проверить выплаты',
    confirmTitle: 'Подтвердите решение',
    confirmIntro: 'Из {held} {symbol} на эскроу будут сделаны эти выплаты. Отменить это нельзя.',
    toSeller: 'Продавец {name}: {amount} на {address}',
    toBuyerExcess: 'Покупатель {name}: переплата {amount} возвращается на {address}',
    toBuyerRefund: 'Покупатель {name}: возврат {amount} на {address}',
    toBuyerShare: 'Покупатель {name}: {amount} на {address}',
    toPlatform: 'Комиссия платформы: {amount}',
    nothingPaid: 'На эскроу ничего нет; выплат не будет.',
    confirm: 'Решить спор',
    change: 'Изменить решение',
    resolved: 'Спор решён. Выплаты записаны и будут отправлены.',
    needsNetwork: 'Для решения спора нужна сеть. Подключитесь и попробуйте снова.',
    versionConflict:
      'Сделка изменилась, пока вы принимали решение. Она перезагружена: проверьте и решите снова.',
    empty: 'Введите сумму для покупателя.',
    not_a_number: 'Введите число, например 12.5.',
    too_many_decimals: 'У этого токена меньше знаков после запятой.',
    not_positive: 'Сумма должна быть больше нуля; чтобы не возвращать покупателю ничего, выплатите продавцу.',
    above_held: 'Это больше, чем на эскроу.',
    feesUnavailable: 'Не удалось загрузить расчёт выплат: {message}',
    isParty: 'Вы участник этой сделки и не можете её решать.',
    otherAsset: '{amount} минимальных единиц токена {token} в сети {chainId}',
    otherChain: '{money} в сети {chain}',
    staleDecision: 'Это решение готовилось для другой сделки. Проверьте выплаты этой сделки заново.',
  },
};
