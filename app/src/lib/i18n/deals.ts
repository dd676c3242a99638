import type { DealView } from '@amanat/core/api';
import type { Messages } from './locale.svelte.ts';

type State = DealView['state'];

/** Deal states as a person reads them. */
export const stateMessages: Messages<State> = {
  en: {
    draft: 'Draft',
    awaiting_payment: 'Awaiting payment',
    partially_paid: 'Partially paid',
    funded: 'Funded',
    delivered: 'Delivered',
    disputed: 'Disputed',
    releasing: 'Releasing',
    refunding: 'Refunding',
    splitting: 'Splitting',
    released: 'Released',
    refunded: 'Refunded',
    split: 'Split',
    cancelled: 'Cancelled',
    expired: 'Expired',
  },
  ru: {
    draft: 'Черновик',
    awaiting_payment: 'Ожидает оплаты',
    partially_paid: 'Оплачена частично',
    funded: 'Оплачена',
    delivered: 'Доставлено',
    disputed: 'Спор',
    releasing: 'Выплата продавцу',
    refunding: 'Возврат покупателю',
    splitting: 'Раздел суммы',
    released: 'Выплачено продавцу',
    refunded: 'Возвращено покупателю',
    split: 'Сумма разделена',
    cancelled: 'Отменена',
    expired: 'Истекла',
  },
};

/** Activity-log actions (the machine's action types, plus `create` and `join`). */
export const activityMessages: Messages<
  | 'create'
  | 'join'
  | 'accept'
  | 'cancel'
  | 'record_funding'
  | 'expire'
  | 'mark_delivered'
  | 'confirm_receipt'
  | 'open_dispute'
  | 'resolve_dispute'
  | 'inspection_lapsed'
  | 'delivery_lapsed'
  | 'payouts_confirmed'
  | 'flag_review'
  | 'clear_review'
  | 'set_address'
  | 'dispute_message'
  | 'decide_stray_funds'
  | 'approve_payout'
  | 'retry_payouts'
  | 'resolve_review'
> = {
  en: {
    create: 'Deal created',
    join: 'Joined the deal',
    accept: 'Accepted the terms',
    cancel: 'Cancelled the deal',
    record_funding: 'Payment status updated',
    expire: 'Payment window closed',
    mark_delivered: 'Marked as delivered',
    confirm_receipt: 'Confirmed receipt',
    open_dispute: 'Opened a dispute',
    resolve_dispute: 'Resolved the dispute',
    inspection_lapsed: 'Inspection period ended',
    delivery_lapsed: 'Delivery deadline passed',
    payouts_confirmed: 'Payout confirmed on chain',
    flag_review: 'Flagged for review',
    clear_review: 'Review cleared',
    set_address: 'Changed their address',
    dispute_message: 'Dispute message',
    decide_stray_funds: 'Decided on an extra payment',
    approve_payout: 'Payout approved by an operator',
    retry_payouts: 'Failed payout sent again by an operator',
    resolve_review: 'Review resolved',
  },
  ru: {
    create: 'Сделка создана',
    join: 'Присоединился к сделке',
    accept: 'Принял условия',
    cancel: 'Отменил сделку',
    record_funding: 'Статус оплаты обновлён',
    expire: 'Срок оплаты истёк',
    mark_delivered: 'Отмечено как доставленное',
    confirm_receipt: 'Получение подтверждено',
    open_dispute: 'Открыл спор',
    resolve_dispute: 'Спор решён',
    inspection_lapsed: 'Срок проверки истёк',
    delivery_lapsed: 'Срок доставки прошёл',
    payouts_confirmed: 'Выплата подтверждена в сети',
    flag_review: 'Отправлено на проверку',
    clear_review: 'Проверка снята',
    set_address: 'Изменил свой адрес',
    dispute_message: 'Сообщение в споре',
    decide_stray_funds: 'Решение по лишнему платежу',
    approve_payout: 'Выплата одобрена оператором',
    retry_payouts: 'Оператор повторил неудавшуюся выплату',
    resolve_review: 'Проверка завершена',
  },
};

/** The shared components in lib/ui. */
export const uiMessages: Messages<
  | 'left'
  | 'passed'
  | 'noDeadline'
  | 'days'
  | 'hours'
  | 'minutes'
  | 'seconds'
  | 'activity'
  | 'verified'
  | 'verifiedHint'
  | 'notVerified'
  | 'problem'
  | 'system'
  | 'seller'
  | 'buyer'
  | 'arbitrator'
  | 'operator'
  | 'noActivity'
  | 'reason'
  | 'copy'
  | 'copied'
  | 'copyFailed'
  | 'offlineSince'
  | 'updated'
  | 'problemEdited'
  | 'problemRemoved'
  | 'problemInserted'
  | 'problemReordered'
  | 'problemForeign'
> = {
  en: {
    left: '{time} left',
    passed: 'passed',
    noDeadline: 'not set yet',
    days: '{n} d',
    hours: '{n} h',
    minutes: '{n} min',
    seconds: '{n} s',
    activity: 'Activity',
    verified: 'Verified',
    verifiedHint: 'Every step is hash-chained and the chain checks out: nothing was edited or removed.',
    notVerified: 'This history did not pass verification. Problems found:',
    problem: 'Step {seq}: {detail}',
    system: 'Amanat',
    seller: 'Seller',
    buyer: 'Buyer',
    arbitrator: 'Arbitrator',
    operator: 'Operator',
    noActivity: 'Nothing happened yet.',
    reason: 'Reason: {text}',
    copy: 'Copy {label}',
    copied: '{label} copied',
    copyFailed: 'Could not copy; select the text and copy it by hand.',
    offlineSince: 'Offline, last updated {time}',
    updated: 'Updated {time}',
    problemEdited: 'this step was changed after it was recorded.',
    problemRemoved: 'a step before this one was removed or replaced.',
    problemInserted: 'this step was slipped in after the fact.',
    problemReordered: 'this step is stored out of order.',
    problemForeign: 'this step belongs to another deal.',
  },
  ru: {
    left: 'осталось {time}',
    passed: 'истёк',
    noDeadline: 'ещё не назначен',
    days: '{n} д',
    hours: '{n} ч',
    minutes: '{n} мин',
    seconds: '{n} с',
    activity: 'История',
    verified: 'Проверено',
    verifiedHint: 'Каждый шаг связан хешами, и цепочка сходится: ничего не изменено и не удалено.',
    notVerified: 'История не прошла проверку. Найденные проблемы:',
    problem: 'Шаг {seq}: {detail}',
    system: 'Amanat',
    seller: 'Продавец',
    buyer: 'Покупатель',
    arbitrator: 'Арбитр',
    operator: 'Оператор',
    noActivity: 'Пока ничего не произошло.',
    reason: 'Причина: {text}',
    copy: 'Копировать: {label}',
    copied: 'Скопировано: {label}',
    copyFailed: 'Не удалось скопировать; выделите текст и скопируйте вручную.',
    offlineSince: 'Нет сети, данные от {time}',
    updated: 'Обновлено {time}',
    problemEdited: 'шаг изменён после записи.',
    problemRemoved: 'шаг перед этим удалён или заменён.',
    problemInserted: 'шаг вставлен задним числом.',
    problemReordered: 'шаг хранится не по порядку.',
    problemForeign: 'шаг относится к другой сделке.',
  },
};

/** API error codes the deal screens expect, as sentences (anything else shows the API's own message). */
export const errorMessages: Messages<
  | 'offline'
  | 'version_conflict'
  | 'deal_not_found'
  | 'invite_not_found'
  | 'invite_not_available'
  | 'already_a_party'
  | 'role_taken'
  | 'already_accepted'
  | 'counterparty_missing'
  | 'address_required'
  | 'payment_already_received'
  | 'delivery_deadline_not_passed'
  | 'inspection_period_over'
  | 'not_funded'
  | 'deal_needs_review'
  | 'action_not_allowed_in_state'
  | 'not_a_party'
  | 'actor_not_permitted'
  | 'chain_unsupported'
  | 'asset_unknown'
  | 'amount_not_positive'
  | 'rate_limited'
  | 'idempotency_in_progress'
  | 'service_unavailable'
  | 'validation_failed'
  | 'amount_too_precise'
  | 'amount_too_large'
  | 'amount_not_numeric'
  | 'amount_zero'
  | 'amount_exponent'
> = {
  en: {
    offline: "You're offline. Try again when the connection is back.",
    version_conflict: 'The deal changed while you were looking at it. The screen now shows its latest state.',
    deal_not_found: 'This deal does not exist or is not yours.',
    invite_not_found: 'This invite link is not valid. Ask the person who sent it for a new one.',
    invite_not_available: 'This invite can no longer be used: someone else joined or the deal was cancelled.',
    already_a_party: 'You are already a party to this deal.',
    role_taken: 'Someone else has already taken this role.',
    already_accepted: 'You have already accepted these terms.',
    counterparty_missing: 'The other party has not joined yet.',
    address_required: 'Give your address before accepting.',
    payment_already_received: 'A payment has already arrived, so the deal cannot be cancelled now.',
    delivery_deadline_not_passed: 'The buyer may cancel only after the delivery deadline has passed.',
    inspection_period_over: 'The inspection period is over; the deal can no longer be disputed.',
    not_funded: 'The deal is not fully paid yet.',
    deal_needs_review: 'An operator is reviewing this deal; this step waits until they are done.',
    action_not_allowed_in_state: 'This step is not possible in the deal’s current state.',
    not_a_party: 'You are not a party to this deal.',
    actor_not_permitted: 'Your role in this deal may not do this.',
    chain_unsupported: 'Amanat does not support this network.',
    asset_unknown: 'This token is not supported; pick one from the list.',
    amount_not_positive: 'The amount must be more than zero.',
    rate_limited: 'Too many requests. Wait a moment and try again.',
    idempotency_in_progress: 'This request is still being processed. Wait a moment.',
    service_unavailable: 'The service is briefly unavailable. Try again in a moment.',
    validation_failed: 'Some fields need attention.',
    amount_too_precise: 'The price has more digits after the point than this token allows.',
    amount_too_large: 'The price is too large; check for extra digits.',
    amount_not_numeric: 'The price is not a number like 100 or 12.5.',
    amount_zero: 'The price must be more than zero.',
    amount_exponent: 'Write the price out in full digits, without exponent notation.',
  },
  ru: {
    offline: 'Нет сети. Повторите, когда связь вернётся.',
    version_conflict: 'Сделка изменилась, пока вы её смотрели. На экране теперь её текущее состояние.',
    deal_not_found: 'Такой сделки нет, или она не ваша.',
    invite_not_found: 'Ссылка-приглашение недействительна. Попросите отправителя прислать новую.',
    invite_not_available: 'Приглашение больше не действует: кто-то уже присоединился или сделку отменили.',
    already_a_party: 'Вы уже участник этой сделки.',
    role_taken: 'Эту роль уже занял другой человек.',
    already_accepted: 'Вы уже приняли эти условия.',
    counterparty_missing: 'Другая сторона ещё не присоединилась.',
    address_required: 'Укажите свой адрес, прежде чем принять условия.',
    payment_already_received: 'Оплата уже поступила, поэтому сделку нельзя отменить.',
    delivery_deadline_not_passed: 'Покупатель может отменить сделку только после срока доставки.',
    inspection_period_over: 'Срок проверки истёк; открыть спор уже нельзя.',
    not_funded: 'Сделка ещё не оплачена полностью.',
    deal_needs_review: 'Сделку проверяет оператор; этот шаг подождёт окончания проверки.',
    action_not_allowed_in_state: 'В текущем состоянии сделки этот шаг невозможен.',
    not_a_party: 'Вы не участник этой сделки.',
    actor_not_permitted: 'Ваша роль в сделке не позволяет это сделать.',
    chain_unsupported: 'Amanat не поддерживает эту сеть.',
    asset_unknown: 'Этот токен не поддерживается; выберите из списка.',
    amount_not_positive: 'Сумма должна быть больше нуля.',
    rate_limited: 'Слишком много запросов. Подождите немного и повторите.',
    idempotency_in_progress: 'Запрос ещё обрабатывается. Подождите немного.',
    service_unavailable: 'Сервис ненадолго недоступен. Повторите чуть позже.',
    validation_failed: 'Проверьте отмеченные поля.',
    amount_too_precise: 'В цене больше знаков после точки, чем позволяет этот токен.',
    amount_too_large: 'Цена слишком большая; проверьте, нет ли лишних цифр.',
    amount_not_numeric: 'Цена — не число вида 100 или 12.5.',
    amount_zero: 'Цена должна быть больше нуля.',
    amount_exponent: 'Запишите цену полностью цифрами, без экспоненты.',
  },
};

/** Why an address was refused (lib/deals/address.ts). */
export const addressMessages: Messages<'empty' | 'spaces' | 'no_prefix' | 'shape' | 'checksum' | 'zero'> = {
  en: {
    empty: 'Enter an address.',
    spaces: 'Remove the spaces around the address.',
    no_prefix: 'An address starts with 0x.',
    shape: 'An address is 0x followed by 40 characters 0–9 and a–f.',
    checksum:
      'The mix of capital and small letters does not match this address’s checksum: a character is probably mistyped. Copy it again from your wallet.',
    zero: 'The zero address belongs to nobody: money sent there is lost.',
  },
  ru: {
    empty: 'Введите адрес.',
    spaces: 'Уберите пробелы вокруг адреса.',
    no_prefix: 'Адрес начинается с 0x.',
    shape: 'Адрес — это 0x и 40 символов 0–9 и a–f.',
    checksum:
      'Сочетание заглавных и строчных букв не сходится с контрольной суммой адреса: вероятно, опечатка. Скопируйте адрес из кошелька ещё раз.',
    zero: 'Нулевой адрес никому не принадлежит: отправленные туда деньги пропадут.',
  },
};

export const listMessages: Messages<
  | 'title'
  | 'filter'
  | 'all'
  | 'needsAction'
  | 'active'
  | 'finished'
  | 'loadMore'
  | 'loading'
  | 'empty'
  | 'emptyFiltered'
  | 'newDeal'
  | 'with'
  | 'noCounterparty'
  | 'you'
  | 'queued'
  | 'sending'
  | 'rejected'
  | 'queuedHint'
  | 'dismiss'
  | 'openCreated'
  | 'loadFailed'
  | 'retry'
  | 'editRetry'
> = {
  en: {
    title: 'Your deals',
    filter: 'Show',
    all: 'All',
    needsAction: 'Needs your action',
    active: 'Active',
    finished: 'Finished',
    loadMore: 'Load more',
    loading: 'Loading…',
    empty: 'You have no deals yet.',
    emptyFiltered: 'No deals match this filter.',
    newDeal: 'New deal',
    with: 'with {name}',
    noCounterparty: 'waiting for the other party',
    you: 'You: {role}',
    queued: 'Waiting for the network',
    sending: 'Sending…',
    rejected: 'Not created',
    queuedHint: 'This deal will be created as soon as you are online.',
    dismiss: 'Dismiss',
    openCreated: 'Open the deal',
    loadFailed: 'Could not load your deals.',
    retry: 'Try again',
    editRetry: 'Edit and try again',
  },
  ru: {
    title: 'Ваши сделки',
    filter: 'Показать',
    all: 'Все',
    needsAction: 'Требуют действия',
    active: 'Активные',
    finished: 'Завершённые',
    loadMore: 'Показать ещё',
    loading: 'Загрузка…',
    empty: 'У вас пока нет сделок.',
    emptyFiltered: 'Нет сделок под этот фильтр.',
    newDeal: 'Новая сделка',
    with: 'с {name}',
    noCounterparty: 'ждёт другую сторону',
    you: 'Вы: {role}',
    queued: 'Ждёт сети',
    sending: 'Отправляется…',
    rejected: 'Не создана',
    queuedHint: 'Сделка будет создана, как только появится сеть.',
    dismiss: 'Скрыть',
    openCreated: 'Открыть сделку',
    loadFailed: 'Не удалось загрузить сделки.',
    retry: 'Повторить',
    editRetry: 'Исправить и повторить',
  },
};

export const dealMessages: Messages<
  | 'loading'
  | 'loadFailed'
  | 'retry'
  | 'back'
  | 'price'
  | 'amountDue'
  | 'fee'
  | 'feePaidBySeller'
  | 'feeSplit'
  | 'yourRole'
  | 'counterparty'
  | 'notJoined'
  | 'yourAddress'
  | 'theirAddress'
  | 'payoutAddress'
  | 'refundAddress'
  | 'noAddress'
  | 'deadlines'
  | 'paymentDeadline'
  | 'deliveryDeadline'
  | 'inspectionDeadline'
  | 'funding'
  | 'fundingProgress'
  | 'confirmingAmount'
  | 'payments'
  | 'noPayments'
  | 'paymentPending'
  | 'paymentConfirmed'
  | 'paymentReorged'
  | 'from'
  | 'needsReview'
  | 'actions'
  | 'accept'
  | 'acceptHint'
  | 'pay'
  | 'deliver'
  | 'deliverConfirm'
  | 'confirm'
  | 'confirmTitle'
  | 'confirmWhat'
  | 'confirmYes'
  | 'confirmOffline'
  | 'cancel'
  | 'cancelReason'
  | 'cancelYes'
  | 'cancelWhat'
  | 'cancelRefund'
  | 'keep'
  | 'dispute'
  | 'disputeTitle'
  | 'disputeWhat'
  | 'disputeReason'
  | 'disputeYes'
  | 'reasonRequired'
  | 'changeAddress'
  | 'newAddress'
  | 'saveAddress'
  | 'addressFirst'
  | 'invite'
  | 'inviteHint'
  | 'webLink'
  | 'telegramLink'
  | 'share'
  | 'shareText'
  | 'shared'
  | 'thread'
  | 'messageLabel'
  | 'send'
  | 'pendingMessage'
  | 'messageQueued'
  | 'done'
  | 'accepted'
  | 'delivered'
  | 'confirmed'
  | 'cancelled'
  | 'disputed'
  | 'addressSaved'
  | 'messageSent'
  | 'working'
  | 'acceptedBy'
  | 'waitingAccept'
  | 'confirmUnknown'
  | 'messageRejected'
  | 'dismiss'
> = {
  en: {
    loading: 'Loading the deal…',
    loadFailed: 'Could not load the deal.',
    retry: 'Try again',
    back: 'All deals',
    price: 'Price',
    amountDue: 'The buyer pays',
    fee: 'Amanat fee',
    feePaidBySeller: 'paid by the seller',
    feeSplit: 'split between buyer and seller',
    yourRole: 'You are the {role}',
    counterparty: 'Counterparty',
    notJoined: 'Nobody has joined yet.',
    yourAddress: 'Your {kind}',
    theirAddress: 'Their {kind}',
    payoutAddress: 'payout address',
    refundAddress: 'refund address',
    noAddress: 'not given yet',
    deadlines: 'Deadlines',
    paymentDeadline: 'Payment',
    deliveryDeadline: 'Delivery',
    inspectionDeadline: 'Inspection',
    funding: 'Funding',
    fundingProgress: '{paid} of {due} {symbol} confirmed',
    confirmingAmount: '{amount} {symbol} waiting for confirmations',
    payments: 'Payments',
    noPayments: 'No payments yet.',
    paymentPending: 'confirming',
    paymentConfirmed: 'confirmed',
    paymentReorged: 'dropped by the network',
    from: 'from {address}',
    needsReview: 'An operator is reviewing this deal. Money moves only after the review.',
    actions: 'What you can do',
    accept: 'Accept the terms',
    acceptHint: 'Once both of you accept, the buyer gets the payment details.',
    pay: 'Pay',
    deliver: 'Mark as delivered',
    deliverConfirm: 'This starts the buyer’s inspection period. Mark as delivered?',
    confirm: 'Confirm receipt',
    confirmTitle: 'Confirm that you received what you paid for',
    confirmWhat: 'The seller receives {amount} {symbol}. This cannot be undone.',
    confirmYes: 'Yes, release the money',
    confirmOffline: "You're offline: confirming receipt needs the network. Nothing was changed.",
    cancel: 'Cancel the deal',
    cancelReason: 'Reason (optional)',
    cancelYes: 'Yes, cancel the deal',
    cancelWhat: 'The deal ends and cannot be restarted.',
    cancelRefund: 'The deal ends and the buyer is refunded.',
    keep: 'Keep the deal',
    dispute: 'Open a dispute',
    disputeTitle: 'Open a dispute',
    disputeWhat:
      'An arbitrator decides where the money goes: to the seller, back to the buyer, or split. Nothing is paid out until then.',
    disputeReason: 'What went wrong?',
    disputeYes: 'Open the dispute',
    reasonRequired: 'Say what went wrong.',
    changeAddress: 'Change your address',
    newAddress: 'New {kind}',
    saveAddress: 'Save the address',
    addressFirst: 'Give your {kind} before accepting.',
    invite: 'Invite the other party',
    inviteHint:
      'Send one of these links to the other party; the deal starts when they join and you both accept.',
    webLink: 'Web link',
    telegramLink: 'Telegram link',
    share: 'Share the invite',
    shareText: 'Join my deal on Amanat: {title}',
    shared: 'Link copied; paste it to the other party.',
    thread: 'Dispute messages',
    messageLabel: 'Your message',
    send: 'Send',
    pendingMessage: 'Waiting for the network',
    messageQueued: 'Amanat could not be reached: the message will be sent when the connection is back.',
    done: 'Done',
    accepted: 'You accepted the terms.',
    delivered: 'Marked as delivered.',
    confirmed: 'Receipt confirmed: the money is on its way to the seller.',
    cancelled: 'The deal was cancelled.',
    disputed: 'The dispute is open; an arbitrator will look at it.',
    addressSaved: 'Your address was saved.',
    messageSent: 'Message sent.',
    working: 'Working…',
    acceptedBy: 'accepted',
    waitingAccept: 'has not accepted yet',
    confirmUnknown:
      'We could not reach Amanat, so we do not know whether your confirmation went through. Check the deal when you are back online; trying again is safe.',
    messageRejected: 'Not sent: {why}',
    dismiss: 'Dismiss',
  },
  ru: {
    loading: 'Загружаем сделку…',
    loadFailed: 'Не удалось загрузить сделку.',
    retry: 'Повторить',
    back: 'Все сделки',
    price: 'Цена',
    amountDue: 'Покупатель платит',
    fee: 'Комиссия Amanat',
    feePaidBySeller: 'платит продавец',
    feeSplit: 'делится между покупателем и продавцом',
    yourRole: 'Вы — {role}',
    counterparty: 'Другая сторона',
    notJoined: 'Пока никто не присоединился.',
    yourAddress: 'Ваш {kind}',
    theirAddress: 'Их {kind}',
    payoutAddress: 'адрес для выплаты',
    refundAddress: 'адрес для возврата',
    noAddress: 'ещё не указан',
    deadlines: 'Сроки',
    paymentDeadline: 'Оплата',
    deliveryDeadline: 'Доставка',
    inspectionDeadline: 'Проверка',
    funding: 'Оплата',
    fundingProgress: 'Подтверждено {paid} из {due} {symbol}',
    confirmingAmount: '{amount} {symbol} ждут подтверждений',
    payments: 'Платежи',
    noPayments: 'Платежей пока нет.',
    paymentPending: 'подтверждается',
    paymentConfirmed: 'подтверждён',
    paymentReorged: 'отменён сетью',
    from: 'от {address}',
    needsReview: 'Сделку проверяет оператор. Деньги двигаются только после проверки.',
    actions: 'Что можно сделать',
    accept: 'Принять условия',
    acceptHint: 'Когда вы оба примете условия, покупатель получит реквизиты для оплаты.',
    pay: 'Оплатить',
    deliver: 'Отметить доставку',
    deliverConfirm: 'Это начнёт срок проверки у покупателя. Отметить доставку?',
    confirm: 'Подтвердить получение',
    confirmTitle: 'Подтвердите, что получили оплаченное',
    confirmWhat: 'Продавец получит {amount} {symbol}. Это нельзя отменить.',
    confirmYes: 'Да, перевести деньги',
    confirmOffline: 'Нет сети: для подтверждения получения нужна связь. Ничего не изменено.',
    cancel: 'Отменить сделку',
    cancelReason: 'Причина (необязательно)',
    cancelYes: 'Да, отменить сделку',
    cancelWhat: 'Сделка завершится, её нельзя будет возобновить.',
    cancelRefund: 'Сделка завершится, покупателю вернут деньги.',
    keep: 'Не отменять',
    dispute: 'Открыть спор',
    disputeTitle: 'Открыть спор',
    disputeWhat:
      'Арбитр решит, куда пойдут деньги: продавцу, обратно покупателю или поровну. До решения ничего не выплачивается.',
    disputeReason: 'Что пошло не так?',
    disputeYes: 'Открыть спор',
    reasonRequired: 'Опишите, что пошло не так.',
    changeAddress: 'Изменить адрес',
    newAddress: 'Новый {kind}',
    saveAddress: 'Сохранить адрес',
    addressFirst: 'Укажите {kind}, прежде чем принять условия.',
    invite: 'Пригласите другую сторону',
    inviteHint:
      'Отправьте одну из ссылок другой стороне; сделка начнётся, когда она присоединится и вы оба примете условия.',
    webLink: 'Веб-ссылка',
    telegramLink: 'Ссылка в Telegram',
    share: 'Поделиться приглашением',
    shareText: 'Присоединяйтесь к сделке в Amanat: {title}',
    shared: 'Ссылка скопирована; отправьте её другой стороне.',
    thread: 'Сообщения в споре',
    messageLabel: 'Ваше сообщение',
    send: 'Отправить',
    pendingMessage: 'Ждёт сети',
    messageQueued: 'Нет связи с Amanat: сообщение отправится, когда связь вернётся.',
    done: 'Готово',
    accepted: 'Вы приняли условия.',
    delivered: 'Доставка отмечена.',
    confirmed: 'Получение подтверждено: деньги отправляются продавцу.',
    cancelled: 'Сделка отменена.',
    disputed: 'Спор открыт; его рассмотрит арбитр.',
    addressSaved: 'Адрес сохранён.',
    messageSent: 'Сообщение отправлено.',
    working: 'Выполняется…',
    acceptedBy: 'принял(а) условия',
    waitingAccept: 'ещё не принял(а) условия',
    confirmUnknown:
      'Не удалось связаться с Amanat, поэтому неизвестно, прошло ли подтверждение. Проверьте сделку, когда появится сеть; повторить безопасно.',
    messageRejected: 'Не отправлено: {why}',
    dismiss: 'Скрыть',
  },
};

export const payMessages: Messages<
  | 'title'
  | 'loading'
  | 'back'
  | 'sendExactly'
  | 'amountLabel'
  | 'to'
  | 'addressLabel'
  | 'network'
  | 'assetOn'
  | 'chainFallback'
  | 'warning'
  | 'openWallet'
  | 'qrAlt'
  | 'deadline'
  | 'status'
  | 'waiting'
  | 'confirming'
  | 'confirmingProgress'
  | 'confirmingTarget'
  | 'partial'
  | 'funded'
  | 'fundedNext'
  | 'noDeposit'
  | 'notBuyer'
  | 'stale'
  | 'expiresAt'
  | 'polling'
  | 'live'
  | 'backToDeal'
  | 'closedCancelled'
  | 'closedExpired'
  | 'closedOver'
  | 'waitForConfirmations'
  | 'stillDueAfter'
  | 'checkOnline'
  | 'lastKnownAmount'
  | 'loadFailed'
> = {
  en: {
    title: 'Pay for “{title}”',
    loading: 'Loading payment details…',
    back: 'Back to the deal',
    sendExactly: 'Send exactly',
    amountLabel: 'amount',
    to: 'To this deposit address',
    addressLabel: 'deposit address',
    network: 'Network',
    assetOn: '{symbol} on {chain}',
    chainFallback: 'chain {id}',
    warning:
      'Send only {symbol} on {chain}. Money sent on another network, or in another token, does not reach the deal and may be lost.',
    openWallet: 'Open in a wallet',
    qrAlt: 'QR code of the payment request: {amount} {symbol} to {address} on {chain}',
    deadline: 'Pay before',
    status: 'Payment status',
    waiting: 'Waiting for your payment. It shows here within a minute of being sent.',
    confirming: 'Payment detected: confirming ({n} confirmations needed).',
    confirmingProgress: 'Payment detected: confirming {seen}/{n}.',
    confirmingTarget: 'Confirming: {n} confirmations needed',
    partial: 'Part of the amount arrived. Send the remaining {amount} {symbol}.',
    funded: 'Paid in full. The seller has been told to deliver.',
    fundedNext: 'Back to the deal',
    noDeposit: 'The deposit address appears once both parties have accepted the terms.',
    notBuyer: 'Only the buyer pays for this deal.',
    stale: 'Offline: these payment details are from {time}.',
    expiresAt: 'The deal expires if not paid by {time}.',
    polling: 'Live updates are paused; checking every few seconds.',
    live: 'Updates live.',
    backToDeal: 'Back to the deal',
    closedCancelled: 'This deal was cancelled. Do not send any money to it.',
    closedExpired: 'The time to pay has run out. Do not send any money to this deal.',
    closedOver: 'This deal no longer takes payments. Do not send money to its address.',
    waitForConfirmations:
      'Wait until this payment is confirmed before sending anything more: sending again now may pay twice.',
    stillDueAfter: 'Once it is confirmed, {amount} {symbol} will still be due.',
    checkOnline: 'Check again when you are online before paying: the amount or the deal may have changed.',
    lastKnownAmount: 'Amount due when last checked',
    loadFailed: 'Could not refresh the payment details.',
  },
  ru: {
    title: 'Оплата «{title}»',
    loading: 'Загружаем реквизиты…',
    back: 'Назад к сделке',
    sendExactly: 'Отправьте ровно',
    amountLabel: 'сумму',
    to: 'На этот адрес депозита',
    addressLabel: 'адрес депозита',
    network: 'Сеть',
    assetOn: '{symbol} в сети {chain}',
    chainFallback: 'сеть {id}',
    warning:
      'Отправляйте только {symbol} в сети {chain}. Деньги, отправленные в другой сети или другим токеном, не попадут в сделку и могут пропасть.',
    openWallet: 'Открыть в кошельке',
    qrAlt: 'QR-код платежа: {amount} {symbol} на адрес {address} в сети {chain}',
    deadline: 'Оплатить до',
    status: 'Статус оплаты',
    waiting: 'Ждём вашу оплату. Она появится здесь в течение минуты после отправки.',
    confirming: 'Платёж найден: идёт подтверждение (нужно подтверждений: {n}).',
    confirmingProgress: 'Платёж найден: подтверждений {seen}/{n}.',
    confirmingTarget: 'Подтверждается: нужно подтверждений: {n}',
    partial: 'Пришла часть суммы. Отправьте оставшиеся {amount} {symbol}.',
    funded: 'Оплачено полностью. Продавцу сообщили, что можно отправлять.',
    fundedNext: 'Назад к сделке',
    noDeposit: 'Адрес депозита появится, когда обе стороны примут условия.',
    notBuyer: 'Эту сделку оплачивает покупатель.',
    stale: 'Нет сети: реквизиты от {time}.',
    expiresAt: 'Сделка истечёт, если не оплатить до {time}.',
    polling: 'Живые обновления приостановлены; проверяем каждые несколько секунд.',
    live: 'Обновляется в реальном времени.',
    backToDeal: 'Назад к сделке',
    closedCancelled: 'Сделка отменена. Не отправляйте на неё деньги.',
    closedExpired: 'Срок оплаты истёк. Не отправляйте деньги на эту сделку.',
    closedOver: 'Сделка больше не принимает оплату. Не отправляйте деньги на её адрес.',
    waitForConfirmations:
      'Дождитесь подтверждения этого платежа, прежде чем отправлять ещё: повторная отправка сейчас может оплатить дважды.',
    stillDueAfter: 'После подтверждения останется оплатить {amount} {symbol}.',
    checkOnline:
      'Прежде чем платить, проверьте ещё раз, когда появится сеть: сумма или сделка могли измениться.',
    lastKnownAmount: 'Сумма к оплате на момент последней проверки',
    loadFailed: 'Не удалось обновить реквизиты.',
  },
};

export const createMessages: Messages<
  | 'title'
  | 'titleLabel'
  | 'descriptionLabel'
  | 'descriptionHint'
  | 'roleLegend'
  | 'sell'
  | 'buy'
  | 'assetLabel'
  | 'assetOption'
  | 'assetsLoading'
  | 'assetsFailed'
  | 'amountLabel'
  | 'amountHint'
  | 'payoutLabel'
  | 'refundLabel'
  | 'payoutHint'
  | 'refundHint'
  | 'periods'
  | 'paymentWindow'
  | 'deliveryPeriod'
  | 'inspectionPeriod'
  | 'feeLegend'
  | 'feeSeller'
  | 'feeSplit'
  | 'feeHint'
  | 'submit'
  | 'submitting'
  | 'titleRequired'
  | 'amountEmpty'
  | 'amountNotNumber'
  | 'amountDecimals'
  | 'amountNotPositive'
  | 'assetRequired'
  | 'fixErrors'
  | 'queued'
  | 'created'
  | 'amountTooLarge'
  | 'otherField'
  | 'fieldProblem'
> = {
  en: {
    title: 'New deal',
    titleLabel: 'What is the deal about?',
    descriptionLabel: 'Details (optional)',
    descriptionHint: 'What exactly is delivered, how and when. Both sides see this.',
    roleLegend: 'Your role',
    sell: 'I sell',
    buy: 'I buy',
    assetLabel: 'Currency and network',
    assetOption: '{symbol} on {chain}',
    assetsLoading: 'Loading currencies…',
    assetsFailed: 'Could not load the currencies.',
    amountLabel: 'Price in {symbol}',
    amountHint: '{symbol} has {decimals} decimals.',
    payoutLabel: 'Your payout address',
    refundLabel: 'Your refund address',
    payoutHint: 'Where you receive the money when the buyer confirms. It must be on {chain}.',
    refundHint: 'Where the money goes back to you if the deal is refunded. It must be on {chain}.',
    periods: 'Time limits',
    paymentWindow: 'The buyer pays within',
    deliveryPeriod: 'The seller delivers within',
    inspectionPeriod: 'The buyer inspects for',
    feeLegend: 'Who pays the Amanat fee',
    feeSeller: 'The seller',
    feeSplit: 'Split in half',
    feeHint: 'The fee is {percent}% of the price.',
    submit: 'Create the deal',
    submitting: 'Creating…',
    titleRequired: 'Give the deal a title.',
    amountEmpty: 'Enter the price.',
    amountNotNumber: 'Enter a number, like 100 or 12.5.',
    amountDecimals: '{symbol} has {decimals} decimals: use at most {decimals} digits after the point.',
    amountNotPositive: 'The price must be more than zero.',
    assetRequired: 'Choose a currency.',
    fixErrors: 'Please correct the highlighted fields.',
    queued: 'You are offline: the deal will be created when the connection is back.',
    created: 'Deal created.',
    amountTooLarge:
      'The price is too large: at most 1 000 000 000 000 000 whole units. Check for extra digits.',
    otherField: 'Another part of the form',
    fieldProblem: '{field}: {message}',
  },
  ru: {
    title: 'Новая сделка',
    titleLabel: 'О чём сделка?',
    descriptionLabel: 'Подробности (необязательно)',
    descriptionHint: 'Что именно передаётся, как и когда. Это видят обе стороны.',
    roleLegend: 'Ваша роль',
    sell: 'Я продаю',
    buy: 'Я покупаю',
    assetLabel: 'Валюта и сеть',
    assetOption: '{symbol} в сети {chain}',
    assetsLoading: 'Загружаем валюты…',
    assetsFailed: 'Не удалось загрузить валюты.',
    amountLabel: 'Цена в {symbol}',
    amountHint: 'У {symbol} {decimals} знаков после точки.',
    payoutLabel: 'Ваш адрес для выплаты',
    refundLabel: 'Ваш адрес для возврата',
    payoutHint: 'Сюда придут деньги, когда покупатель подтвердит получение. Адрес в сети {chain}.',
    refundHint: 'Сюда вернутся деньги, если сделку отменят. Адрес в сети {chain}.',
    periods: 'Сроки',
    paymentWindow: 'Покупатель платит в течение',
    deliveryPeriod: 'Продавец доставляет в течение',
    inspectionPeriod: 'Покупатель проверяет в течение',
    feeLegend: 'Кто платит комиссию Amanat',
    feeSeller: 'Продавец',
    feeSplit: 'Пополам',
    feeHint: 'Комиссия — {percent}% от цены.',
    submit: 'Создать сделку',
    submitting: 'Создаём…',
    titleRequired: 'Дайте сделке название.',
    amountEmpty: 'Введите цену.',
    amountNotNumber: 'Введите число, например 100 или 12.5.',
    amountDecimals: 'У {symbol} {decimals} знаков после точки: не больше {decimals} цифр после точки.',
    amountNotPositive: 'Цена должна быть больше нуля.',
    assetRequired: 'Выберите валюту.',
    fixErrors: 'Исправьте отмеченные поля.',
    queued: 'Нет сети: сделка будет создана, когда связь вернётся.',
    created: 'Сделка создана.',
    amountTooLarge:
      'Цена слишком большая: не больше 1 000 000 000 000 000 целых единиц. Проверьте, нет ли лишних цифр.',
    otherField: 'Другая часть формы',
    fieldProblem: '{field}: {message}',
  },
};

export const joinMessages: Messages<
  | 'title'
  | 'loading'
  | 'invitedBy'
  | 'youWouldBe'
  | 'price'
  | 'amountDue'
  | 'fee'
  | 'feeSeller'
  | 'feeSplit'
  | 'periods'
  | 'paymentWindow'
  | 'deliveryPeriod'
  | 'inspectionPeriod'
  | 'payoutLabel'
  | 'refundLabel'
  | 'join'
  | 'joining'
  | 'ownInvite'
  | 'openDeal'
  | 'notFound'
  | 'notAvailable'
  | 'alreadyParty'
  | 'back'
  | 'fixAddress'
  | 'joinedNext'
> = {
  en: {
    title: 'Join “{title}”',
    loading: 'Loading the invite…',
    invitedBy: '{name} invites you as the {role}.',
    youWouldBe: 'You would be the {role}.',
    price: 'Price',
    amountDue: 'The buyer pays',
    fee: 'Amanat fee',
    feeSeller: 'paid by the seller',
    feeSplit: 'split between buyer and seller',
    periods: 'Time limits',
    paymentWindow: 'Payment within',
    deliveryPeriod: 'Delivery within',
    inspectionPeriod: 'Inspection for',
    payoutLabel: 'Your payout address',
    refundLabel: 'Your refund address',
    join: 'Join the deal',
    joining: 'Joining…',
    ownInvite: 'This is your own invite. Send it to the other party.',
    openDeal: 'Open the deal',
    notFound: 'This invite link is not valid. Ask the person who sent it for a new one.',
    notAvailable: 'This invite can no longer be used: someone else joined or the deal was cancelled.',
    alreadyParty: 'You are already a party to this deal.',
    back: 'Your deals',
    fixAddress: 'Check your address.',
    joinedNext: 'You joined. Accept the terms to start the deal.',
  },
  ru: {
    title: 'Присоединиться к «{title}»',
    loading: 'Загружаем приглашение…',
    invitedBy: '{name} приглашает вас как {role}.',
    youWouldBe: 'Ваша роль: {role}.',
    price: 'Цена',
    amountDue: 'Покупатель платит',
    fee: 'Комиссия Amanat',
    feeSeller: 'платит продавец',
    feeSplit: 'делится между покупателем и продавцом',
    periods: 'Сроки',
    paymentWindow: 'Оплата в течение',
    deliveryPeriod: 'Доставка в течение',
    inspectionPeriod: 'Проверка в течение',
    payoutLabel: 'Ваш адрес для выплаты',
    refundLabel: 'Ваш адрес для возврата',
    join: 'Присоединиться',
    joining: 'Присоединяемся…',
    ownInvite: 'Это ваше собственное приглашение. Отправьте его другой стороне.',
    openDeal: 'Открыть сделку',
    notFound: 'Ссылка-приглашение недействительна. Попросите отправителя прислать новую.',
    notAvailable: 'Приглашение больше не действует: кто-то уже присоединился или сделку отменили.',
    alreadyParty: 'Вы уже участник этой сделки.',
    back: 'Ваши сделки',
    fixAddress: 'Проверьте адрес.',
    joinedNext: 'Вы присоединились. Примите условия, чтобы начать сделку.',
  },
};
