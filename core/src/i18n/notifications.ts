import type { Actor } from '../activity-log.ts';
import { DEAL_STATES, type DealState } from '../deal/states.ts';
import { formatAmount } from '../money.ts';
import { type Locale, type Localized, stateLabel } from './locale.ts';
import { payoutFailureSentence } from './payout-reasons.ts';

/**
 * The Telegram message each party gets for a deal event, in English and Russian, worded for the one who
 * reads it. Messages are sent with parse_mode HTML: everything that comes from users (titles, reasons,
 * dispute messages) is escaped and clipped here, so nobody can inject markup or an endless message into
 * someone else's chat.
 */

export type NotificationRole = 'seller' | 'buyer';

/** How an amount of one asset is written: its registry symbol and decimals. */
export interface NotificationAsset {
  symbol: string;
  decimals: number;
}

export interface DealNotificationInput {
  /** The activity entry's action: a deal action type, or 'create'. */
  action: string;
  stateBefore: string | null;
  stateAfter: string | null;
  /** The activity entry's facts, as stored (amounts are decimal strings). */
  facts: Readonly<Record<string, unknown>>;
  actor: Actor;
  recipient: { userId: string; role: NotificationRole };
  deal: {
    title: string;
    amountDue: bigint;
    asset: NotificationAsset;
    deadlines: { payment: Date | null; delivery: Date | null; inspection: Date | null };
  };
  /** Symbol and decimals of an asset a fact names (stray funds may be in another asset than the deal's). */
  assetOf?: (ref: { chainId: number; token: string }) => NotificationAsset | undefined;
  /** A transaction's page on the chain's block explorer (the registry's `explorerUrl`), or null for none. */
  explorerTxUrl?: (chainId: number, txHash: string) => string | null;
}

export interface DealNotificationText {
  /** HTML (Telegram's subset), escaped. */
  text: string;
  /** Label of the button that opens the deal. */
  button: string;
}

const TITLE_MAX = 100;
const QUOTE_MAX = 300;

/** Telegram's HTML mode needs exactly these escaped; quotes too, for text that ends up in attributes. */
export function escapeTelegramHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** At most `max` characters (code points, so an emoji is never cut in half), on one line. */
function clip(text: string, max: number): string {
  const flat = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= max
    ? flat
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/** User-written text, safe to put into an HTML message. */
const userText = (text: string, max: number): string => escapeTelegramHtml(clip(text, max));

function groupDigits(decimal: string, locale: Locale): string {
  const [whole = '0', fraction] = decimal.split('.');
  const sep = locale === 'ru' ? '\u00a0' : ',';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  return fraction === undefined ? grouped : `${grouped}${locale === 'ru' ? ',' : '.'}${fraction}`;
}

const money = (units: bigint, asset: NotificationAsset, locale: Locale): string =>
  `${groupDigits(formatAmount(units, asset.decimals), locale)} ${escapeTelegramHtml(clip(asset.symbol, 20))}`;

// Built once: a DateTimeFormat costs about 40 µs to make, a tenth of a notification's CPU.
const DATE_FORMATS: Record<Locale, Intl.DateTimeFormat> = {
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }),
  ru: new Intl.DateTimeFormat('ru-RU', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }),
};

const when = (at: Date, locale: Locale): string => `${DATE_FORMATS[locale].format(at)} UTC`;

/** An amount fact: stored as a decimal string (or a small number); anything else is not an amount. */
function amountFact(value: unknown): bigint | null {
  if (typeof value === 'string' && /^\d{1,90}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return null;
}

const stringFact = (value: unknown): string | null => (typeof value === 'string' ? value : null);

const isState = (value: string | null): value is DealState =>
  value !== null && (DEAL_STATES as readonly string[]).includes(value);

/** What the payout legs a decision recorded give the recipient (seller: the seller leg; buyer: theirs). */
function payoutTo(facts: DealNotificationInput['facts'], role: NotificationRole): bigint | null {
  const legs = facts.payoutLegs;
  if (!Array.isArray(legs)) return null;
  const kinds = role === 'seller' ? ['seller'] : ['buyer_excess', 'buyer_refund', 'buyer_share'];
  let total = 0n;
  for (const leg of legs) {
    if (typeof leg !== 'object' || leg === null) continue;
    const { kind, amount } = leg as { kind?: unknown; amount?: unknown };
    const units = amountFact(amount);
    if (typeof kind === 'string' && kinds.includes(kind) && units !== null) total += units;
  }
  return total > 0n ? total : null;
}

/** The deal is collecting money in these states, in the order funding moves them. */
const COLLECTING: readonly string[] = ['awaiting_payment', 'partially_paid', 'funded'];

interface Ctx {
  input: DealNotificationInput;
  role: NotificationRole;
  /** The recipient took the action. */
  you: boolean;
  /** The role of whoever acted: a party, or the arbitrator, operator or system. */
  by: string;
  facts: DealNotificationInput['facts'];
  money(units: bigint): Localized;
  due: Localized;
  when(at: Date | null): Localized | null;
  quote(key: string): Localized | null;
}

/** The same sentence for each side, picked by the recipient's role. */
const bySide = (role: NotificationRole, seller: Localized, buyer: Localized): Localized =>
  role === 'seller' ? seller : buyer;

/** The other side as the subject of a sentence. */
const OTHER_SUBJECT: Record<NotificationRole, Localized> = {
  seller: { en: 'The buyer', ru: 'Покупатель' },
  buyer: { en: 'The seller', ru: 'Продавец' },
};

const ACTOR_SUBJECT: Record<string, Localized> = {
  seller: { en: 'The seller', ru: 'Продавец' },
  buyer: { en: 'The buyer', ru: 'Покупатель' },
  arbitrator: { en: 'The arbitrator', ru: 'Арбитр' },
  operator: { en: 'Amanat staff', ru: 'Сотрудник Amanat' },
};
const actorSubject = (role: string): Localized => ACTOR_SUBJECT[role] ?? { en: 'Amanat', ru: 'Amanat' };

/** Sentences one after another; a part that starts with a line break starts a new line. */
const join = (...parts: Array<Localized | null | undefined | false>): Localized => {
  const present = parts.filter((p): p is Localized => Boolean(p));
  const glue = (texts: string[]) =>
    texts.reduce((out, t) => (out === '' ? t : t.startsWith('\n') ? `${out}${t}` : `${out} ${t}`), '');
  return { en: glue(present.map((p) => p.en)), ru: glue(present.map((p) => p.ru)) };
};

const quoted = (label: Localized, text: Localized | null): Localized | null =>
  text ? { en: `\n${label.en}: «${text.en}»`, ru: `\n${label.ru}: «${text.ru}»` } : null;

const REFUND_SENTENCE: Record<NotificationRole, Localized> = {
  buyer: {
    en: 'Your payment is being refunded to your refund address.',
    ru: 'Ваш платёж возвращается на ваш адрес для возврата.',
  },
  seller: { en: 'The payment is being refunded to the buyer.', ru: 'Платёж возвращается покупателю.' },
};

function recordFunding(c: Ctx): Localized {
  const { facts, role, input } = c;
  const before = input.stateBefore ?? '';
  const after = input.stateAfter ?? '';
  const confirmed = amountFact(facts.confirmed) ?? 0n;
  const confirming = amountFact(facts.confirming) ?? 0n;
  const reasons = Array.isArray(facts.reviewReasons) ? facts.reviewReasons.map(String) : [];
  const partly = (): Localized => ({
    en: `${c.money(confirmed).en} of ${c.due.en} is confirmed.`,
    ru: `Подтверждено ${c.money(confirmed).ru} из ${c.due.ru}.`,
  });

  if (after === 'funded' && before !== 'funded') {
    const deadline = c.when(input.deal.deadlines.delivery);
    return join(
      bySide(
        role,
        {
          en: `The deal is funded: ${c.money(confirmed).en} is held in escrow. Deliver to the buyer${deadline ? ` by ${deadline.en}` : ''}, then mark the deal as delivered.`,
          ru: `Сделка оплачена: ${c.money(confirmed).ru} на эскроу. Передайте товар или услугу покупателю${deadline ? ` до ${deadline.ru}` : ''} и отметьте сделку как выполненную.`,
        },
        {
          en: `Your payment is confirmed: ${c.money(confirmed).en} is held in escrow until you confirm receipt.`,
          ru: `Ваш платёж подтверждён: ${c.money(confirmed).ru} хранится на эскроу, пока вы не подтвердите получение.`,
        },
      ),
      facts.funding === 'overpaid' && {
        en: 'It is more than the amount due; the excess goes back to the buyer when the deal is settled.',
        ru: 'Это больше суммы к оплате; излишек вернётся покупателю при расчёте по сделке.',
      },
    );
  }
  if (
    COLLECTING.includes(before) &&
    COLLECTING.includes(after) &&
    COLLECTING.indexOf(after) < COLLECTING.indexOf(before)
  ) {
    return join(
      {
        en: 'A payment to this deal was reversed on the chain (a reorganisation).',
        ru: 'Платёж по сделке отменён в блокчейне (реорганизация цепочки).',
      },
      partly(),
      role === 'seller' && {
        en: 'Do not deliver until the deal is funded again.',
        ru: 'Не передавайте товар, пока сделка снова не будет оплачена.',
      },
    );
  }
  if (after === 'partially_paid') {
    const rest = input.deal.amountDue > confirmed ? input.deal.amountDue - confirmed : 0n;
    return bySide(
      role,
      {
        en: `The buyer has paid part of the price: ${c.money(confirmed).en} of ${c.due.en} is confirmed.`,
        ru: `Покупатель оплатил часть суммы: подтверждено ${c.money(confirmed).ru} из ${c.due.ru}.`,
      },
      {
        en: `We received ${c.money(confirmed).en} of ${c.due.en}. Pay the remaining ${c.money(rest).en} to the same deposit address.`,
        ru: `Получено ${c.money(confirmed).ru} из ${c.due.ru}. Доплатите ${c.money(rest).ru} на тот же адрес депозита.`,
      },
    );
  }
  if (reasons.includes('funding_lost_after_progress')) {
    return {
      en: 'A payment this deal relied on was reversed on the chain. The deal is on hold until Amanat staff review it.',
      ru: 'Платёж, на котором держалась сделка, отменён в блокчейне. Сделка приостановлена до проверки сотрудниками Amanat.',
    };
  }
  const stray = reasons.filter((r) => ['late_payment', 'foreign_asset', 'denylisted_sender'].includes(r));
  if (stray.length > 0) {
    const why: Localized = stray.includes('late_payment')
      ? { en: 'it arrived after the payment window', ru: 'он пришёл после окончания срока оплаты' }
      : stray.includes('foreign_asset')
        ? { en: 'it is in another asset than the deal’s', ru: 'он в другом активе, чем сделка' }
        : { en: 'its sender is not accepted', ru: 'его отправитель не принимается' };
    return {
      en: `A payment arrived that does not count for this deal: ${why.en}. Amanat staff will review it and decide where it goes.`,
      ru: `Пришёл платёж, который не засчитан в сделку: ${why.ru}. Сотрудники Amanat проверят его и решат, куда его направить.`,
    };
  }
  if (reasons.includes('funds_changed_after_close')) {
    return {
      en: 'The money at the deal’s address changed after the deal was settled. Amanat staff will review it.',
      ru: 'Сумма на адресе сделки изменилась после расчёта. Сотрудники Amanat проверят это.',
    };
  }
  if (confirming > 0n && (after === 'awaiting_payment' || after === 'partially_paid')) {
    return bySide(
      role,
      {
        en: `A payment of ${c.money(confirming).en} has arrived and is waiting for confirmations on the chain.`,
        ru: `Поступил платёж ${c.money(confirming).ru}; он ждёт подтверждений в блокчейне.`,
      },
      {
        en: `Your payment of ${c.money(confirming).en} has arrived and is waiting for confirmations on the chain.`,
        ru: `Ваш платёж ${c.money(confirming).ru} поступил и ждёт подтверждений в блокчейне.`,
      },
    );
  }
  return join({ en: 'The deal’s payments changed.', ru: 'Платежи по сделке изменились.' }, partly());
}

function resolveOutcome(c: Ctx): { kind: string; buyerAmount: bigint | null } {
  const outcome = c.facts.outcome;
  if (typeof outcome !== 'object' || outcome === null) return { kind: '', buyerAmount: null };
  const o = outcome as { kind?: unknown; buyerAmount?: unknown };
  return { kind: typeof o.kind === 'string' ? o.kind : '', buyerAmount: amountFact(o.buyerAmount) };
}

/** "X is being paid to your address" for the recipient, when the decision pays them anything. */
function yourPayout(c: Ctx): Localized | null {
  const amount = payoutTo(c.facts, c.role);
  if (amount === null) return null;
  return bySide(
    c.role,
    {
      en: `${c.money(amount).en} is being paid to your payout address.`,
      ru: `${c.money(amount).ru} выплачивается на ваш адрес для выплаты.`,
    },
    {
      en: `${c.money(amount).en} is being paid to your refund address.`,
      ru: `${c.money(amount).ru} выплачивается на ваш адрес для возврата.`,
    },
  );
}

/** What the parties read once a decision's payouts are confirmed, by the state the deal is left in. */
const PAYOUTS_CONFIRMED: Partial<Record<DealState, { seller: Localized; buyer: Localized }>> = {
  released: {
    seller: {
      en: 'Your payout is confirmed on the chain. The deal is complete.',
      ru: 'Выплата вам подтверждена в блокчейне. Сделка завершена.',
    },
    buyer: {
      en: 'The payout to the seller is confirmed on the chain. The deal is complete.',
      ru: 'Выплата продавцу подтверждена в блокчейне. Сделка завершена.',
    },
  },
  refunded: {
    seller: {
      en: 'The refund to the buyer is confirmed on the chain. The deal is closed.',
      ru: 'Возврат покупателю подтверждён в блокчейне. Сделка закрыта.',
    },
    buyer: {
      en: 'Your refund is confirmed on the chain. The deal is closed.',
      ru: 'Возврат вам подтверждён в блокчейне. Сделка закрыта.',
    },
  },
  // A partly paid deal's refund at expiry: the deal stays expired.
  expired: {
    seller: {
      en: 'The return of the buyer’s payment is confirmed on the chain. The deal stays expired.',
      ru: 'Возврат платежа покупателю подтверждён в блокчейне. Сделка остаётся истёкшей.',
    },
    buyer: {
      en: 'The return of your payment is confirmed on the chain. The deal stays expired.',
      ru: 'Возврат вашего платежа подтверждён в блокчейне. Сделка остаётся истёкшей.',
    },
  },
};

function payoutsConfirmedSentence(c: Ctx): Localized {
  const after = c.input.stateAfter;
  const sides = isState(after) ? PAYOUTS_CONFIRMED[after] : undefined;
  if (sides) return bySide(c.role, sides.seller, sides.buyer);
  return {
    en: 'The payouts of the split are confirmed on the chain. The deal is closed.',
    ru: 'Выплаты по разделу подтверждены в блокчейне. Сделка закрыта.',
  };
}

/** The kinds of payout leg that pay each party (the fee leg pays nobody a party should hear about). */
const PARTY_LEG_KINDS: Record<NotificationRole, readonly string[]> = {
  seller: ['seller', 'stray_accept'],
  buyer: ['buyer_excess', 'buyer_refund', 'buyer_share'],
};

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

interface PaidTransaction {
  kind: string;
  amount: bigint;
  chainId: number;
  txHash: string;
}

/** The `transactions` fact of payouts_confirmed, as stored; malformed items are left out. */
function paidTransactions(facts: DealNotificationInput['facts']): PaidTransaction[] {
  const list = facts.transactions;
  if (!Array.isArray(list)) return [];
  const out: PaidTransaction[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const { kind, amount, chainId, txHash } = item as Record<string, unknown>;
    const units = amountFact(amount);
    if (typeof kind !== 'string' || units === null || typeof txHash !== 'string' || !TX_HASH.test(txHash))
      continue;
    if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId)) continue;
    out.push({ kind, amount: units, chainId, txHash });
  }
  return out;
}

/**
 * One line per transaction that paid a party: the recipient's own first ("… to you"), then the other
 * side's, each with its hash linked to the chain's explorer when the registry names one.
 */
function payoutTransactionLines(c: Ctx): Localized[] {
  const txs = paidTransactions(c.facts);
  const other: NotificationRole = c.role === 'seller' ? 'buyer' : 'seller';
  const link = (tx: PaidTransaction): string => {
    const hash = escapeTelegramHtml(tx.txHash);
    const url = c.input.explorerTxUrl?.(tx.chainId, tx.txHash) ?? null;
    return url ? `<a href="${escapeTelegramHtml(url)}">${hash}</a>` : `<code>${hash}</code>`;
  };
  const own = txs
    .filter((tx) => PARTY_LEG_KINDS[c.role].includes(tx.kind))
    .map((tx) => ({
      en: `\n${c.money(tx.amount).en} to you: ${link(tx)}`,
      ru: `\n${c.money(tx.amount).ru} вам: ${link(tx)}`,
    }));
  const theirs = txs
    .filter((tx) => PARTY_LEG_KINDS[other].includes(tx.kind))
    .map((tx) => ({
      en: `\n${c.money(tx.amount).en} to the ${other}: ${link(tx)}`,
      ru: `\n${c.money(tx.amount).ru} ${other === 'seller' ? 'продавцу' : 'покупателю'}: ${link(tx)}`,
    }));
  return [...own, ...theirs];
}

const BODIES: Record<string, (c: Ctx) => Localized> = {
  create: (c) =>
    bySide(
      c.role,
      {
        en: `You created this deal as the seller; the buyer pays ${c.due.en}. Send the invite link to the buyer so they can join.`,
        ru: `Вы создали сделку как продавец; покупатель платит ${c.due.ru}. Отправьте ссылку-приглашение покупателю, чтобы он присоединился.`,
      },
      {
        en: `You created this deal as the buyer; you will pay ${c.due.en}. Send the invite link to the seller so they can join.`,
        ru: `Вы создали сделку как покупатель; вы заплатите ${c.due.ru}. Отправьте ссылку-приглашение продавцу, чтобы он присоединился.`,
      },
    ),
  join: (c) =>
    c.you
      ? {
          en: `You joined the deal as the ${c.role}. Check the terms and accept them to start the deal.`,
          ru: `Вы присоединились к сделке как ${c.role === 'seller' ? 'продавец' : 'покупатель'}. Проверьте условия и примите их, чтобы начать сделку.`,
        }
      : join(OTHER_SUBJECT[c.role], {
          en: 'joined your deal. Check the terms and accept them to start the deal.',
          ru: 'присоединился к сделке. Проверьте условия и примите их, чтобы начать сделку.',
        }),
  accept: (c) => {
    if (c.input.stateAfter === 'awaiting_payment') {
      const deadline = c.when(c.input.deal.deadlines.payment);
      return bySide(
        c.role,
        {
          en: `Both sides accepted the terms. The buyer now pays ${c.due.en} into escrow${deadline ? ` by ${deadline.en}` : ''}; you will hear from us when it arrives.`,
          ru: `Обе стороны приняли условия. Теперь покупатель вносит ${c.due.ru} на эскроу${deadline ? ` до ${deadline.ru}` : ''}; мы сообщим, когда деньги поступят.`,
        },
        {
          en: `Both sides accepted the terms. Pay ${c.due.en} to the deposit address shown in the deal${deadline ? ` by ${deadline.en}` : ''}.`,
          ru: `Обе стороны приняли условия. Оплатите ${c.due.ru} на адрес депозита, указанный в сделке${deadline ? `, до ${deadline.ru}` : ''}.`,
        },
      );
    }
    return c.you
      ? {
          en: `You accepted the terms. Waiting for the ${c.role === 'seller' ? 'buyer' : 'seller'} to accept them too.`,
          ru: `Вы приняли условия. Ждём, когда их примет ${c.role === 'seller' ? 'покупатель' : 'продавец'}.`,
        }
      : join(OTHER_SUBJECT[c.role], {
          en: 'accepted the terms. Accept them too to start the deal.',
          ru: 'принял условия. Примите их и вы, чтобы начать сделку.',
        });
  },
  cancel: (c) =>
    join(
      c.you
        ? { en: 'You cancelled the deal.', ru: 'Вы отменили сделку.' }
        : join(actorSubject(c.by), { en: 'cancelled the deal.', ru: 'отменил сделку.' }),
      c.input.stateAfter === 'refunding' && REFUND_SENTENCE[c.role],
      quoted({ en: 'Reason', ru: 'Причина' }, c.quote('reason')),
    ),
  record_funding: recordFunding,
  expire: (c) =>
    join(
      {
        en: 'The payment window closed before the deal was paid in full, so the deal has expired.',
        ru: 'Срок оплаты истёк, а сделка не была оплачена полностью, поэтому она закрыта.',
      },
      payoutTo(c.facts, 'buyer') !== null &&
        bySide(
          c.role,
          {
            en: 'What arrived is being refunded to the buyer.',
            ru: 'Поступившие деньги возвращаются покупателю.',
          },
          {
            en: 'What you paid is being refunded to your refund address.',
            ru: 'Оплаченное возвращается на ваш адрес для возврата.',
          },
        ),
    ),
  mark_delivered: (c) => {
    const deadline = c.when(c.input.deal.deadlines.inspection);
    return c.you
      ? {
          en: `You marked the deal as delivered. The buyer may check it and open a dispute${deadline ? ` until ${deadline.en}` : ''}; otherwise the money is released to you.`,
          ru: `Вы отметили сделку как выполненную. Покупатель может проверить всё и открыть спор${deadline ? ` до ${deadline.ru}` : ''}; иначе деньги будут выплачены вам.`,
        }
      : {
          en: `The seller marked the deal as delivered. Check what you received, then confirm receipt or open a dispute${deadline ? ` by ${deadline.en}` : ''}. If you do nothing, the money is released to the seller.`,
          ru: `Продавец отметил сделку как выполненную. Проверьте полученное и подтвердите получение или откройте спор${deadline ? ` до ${deadline.ru}` : ''}. Если ничего не делать, деньги уйдут продавцу.`,
        };
  },
  confirm_receipt: (c) =>
    c.you
      ? {
          en: 'You confirmed receipt. The money is being released to the seller.',
          ru: 'Вы подтвердили получение. Деньги выплачиваются продавцу.',
        }
      : join(
          { en: 'The buyer confirmed receipt.', ru: 'Покупатель подтвердил получение.' },
          yourPayout(c) ?? { en: 'The money is being released to you.', ru: 'Деньги выплачиваются вам.' },
        ),
  open_dispute: (c) =>
    join(
      c.you
        ? {
            en: 'You opened a dispute. The money stays in escrow until an arbitrator decides; add your evidence in the deal.',
            ru: 'Вы открыли спор. Деньги остаются на эскроу до решения арбитра; добавьте доказательства в сделке.',
          }
        : join(OTHER_SUBJECT[c.role], {
            en: 'opened a dispute. The money stays in escrow until an arbitrator decides; give your side in the deal.',
            ru: 'открыл спор. Деньги остаются на эскроу до решения арбитра; изложите свою позицию в сделке.',
          }),
      quoted({ en: 'Reason', ru: 'Причина' }, c.quote('reason')),
    ),
  resolve_dispute: (c) => {
    const { kind, buyerAmount } = resolveOutcome(c);
    const decision: Localized =
      kind === 'release'
        ? {
            en: 'The arbitrator decided the dispute for the seller: the money is released to the seller.',
            ru: 'Арбитр решил спор в пользу продавца: деньги выплачиваются продавцу.',
          }
        : kind === 'refund'
          ? {
              en: 'The arbitrator decided the dispute for the buyer: the payment is refunded to the buyer.',
              ru: 'Арбитр решил спор в пользу покупателя: платёж возвращается покупателю.',
            }
          : {
              en: `The arbitrator split the money${buyerAmount !== null ? `: ${c.money(buyerAmount).en} to the buyer, the rest to the seller` : ' between the buyer and the seller'}.`,
              ru: `Арбитр разделил деньги${buyerAmount !== null ? `: ${c.money(buyerAmount).ru} покупателю, остальное продавцу` : ' между покупателем и продавцом'}.`,
            };
    return join(decision, yourPayout(c));
  },
  inspection_lapsed: (c) =>
    join(
      {
        en: 'The inspection period ended without a dispute, so the money is released to the seller.',
        ru: 'Срок проверки истёк без спора, поэтому деньги выплачиваются продавцу.',
      },
      c.role === 'seller' && yourPayout(c),
    ),
  delivery_lapsed: (c) =>
    bySide(
      c.role,
      {
        en: 'The delivery deadline has passed and the deal is not marked as delivered. The buyer may now cancel it and get the payment back.',
        ru: 'Срок передачи истёк, а сделка не отмечена как выполненная. Теперь покупатель может отменить её и вернуть платёж.',
      },
      {
        en: 'The seller missed the delivery deadline. You may now cancel the deal and get your payment back.',
        ru: 'Продавец не уложился в срок передачи. Теперь вы можете отменить сделку и вернуть платёж.',
      },
    ),
  payouts_confirmed: (c) => join(payoutsConfirmedSentence(c), ...payoutTransactionLines(c)),
  flag_review: () => ({
    en: 'Amanat staff are reviewing this deal. Until they finish, the money cannot be released or refunded.',
    ru: 'Сотрудники Amanat проверяют эту сделку. До конца проверки деньги не могут быть выплачены или возвращены.',
  }),
  clear_review: () => ({
    en: 'Amanat staff finished reviewing the deal; it continues as usual.',
    ru: 'Сотрудники Amanat завершили проверку; сделка продолжается как обычно.',
  }),
  set_address: (c) => {
    const address = c.quote('address');
    const which: Localized =
      c.by === 'seller'
        ? { en: 'payout address', ru: 'адрес для выплаты' }
        : { en: 'refund address', ru: 'адрес для возврата' };
    return join(
      c.you
        ? { en: `You changed your ${which.en}.`, ru: `Вы изменили ${which.ru}.` }
        : join(actorSubject(c.by), { en: `changed their ${which.en}.`, ru: `изменил ${which.ru}.` }),
      address && {
        en: `\nNew address: <code>${address.en}</code>`,
        ru: `\nНовый адрес: <code>${address.ru}</code>`,
      },
    );
  },
  dispute_message: (c) =>
    join(
      c.you
        ? { en: 'Your message was added to the dispute.', ru: 'Ваше сообщение добавлено в спор.' }
        : join(actorSubject(c.by), { en: 'wrote in the dispute.', ru: 'написал в споре.' }),
      quoted({ en: 'Message', ru: 'Сообщение' }, c.quote('text')),
    ),
  decide_stray_funds: (c) => {
    const units = amountFact(c.facts.amount);
    const ref = c.facts.asset as { chainId?: unknown; token?: unknown } | undefined;
    const asset =
      ref && typeof ref.chainId === 'number' && typeof ref.token === 'string'
        ? c.input.assetOf?.({ chainId: ref.chainId, token: ref.token })
        : undefined;
    const amount: Localized | null =
      units !== null && asset ? { en: money(units, asset, 'en'), ru: money(units, asset, 'ru') } : null;
    const what: Localized = amount
      ? { en: `a payment of ${amount.en}`, ru: `платёж ${amount.ru}` }
      : { en: 'a payment', ru: 'платёж' };
    return c.facts.decision === 'accept'
      ? {
          en: `Amanat staff accepted ${what.en} that had not counted for this deal; it is paid to the seller.`,
          ru: `Сотрудники Amanat приняли ${what.ru}, не засчитанный ранее в сделку; он выплачивается продавцу.`,
        }
      : {
          en: `Amanat staff decided to return ${what.en} that did not count for this deal to its sender.`,
          ru: `Сотрудники Amanat решили вернуть отправителю ${what.ru}, не засчитанный в сделку.`,
        };
  },
  approve_payout: (c) => {
    const units = amountFact(c.facts.amount);
    const ref = c.facts.asset as { chainId?: unknown; token?: unknown } | undefined;
    const asset =
      ref && typeof ref.chainId === 'number' && typeof ref.token === 'string'
        ? c.input.assetOf?.({ chainId: ref.chainId, token: ref.token })
        : undefined;
    const amount: Localized | null =
      units !== null && asset ? { en: money(units, asset, 'en'), ru: money(units, asset, 'ru') } : null;
    return amount
      ? {
          en: `Amanat staff approved the payout of ${amount.en}; it is being sent now.`,
          ru: `Сотрудники Amanat одобрили выплату ${amount.ru}; она отправляется.`,
        }
      : {
          en: 'Amanat staff approved a payout; it is being sent now.',
          ru: 'Сотрудники Amanat одобрили выплату; она отправляется.',
        };
  },
  retry_payouts: () => ({
    en: 'A payout of this deal had failed. Amanat staff fixed the cause and it is being sent again now.',
    ru: 'Выплата по этой сделке не прошла. Сотрудники Amanat устранили причину, и она отправляется снова.',
  }),
  resolve_review: (c) => {
    const { kind } = resolveOutcome(c);
    if (c.input.stateAfter === 'refunded') {
      return {
        en: 'After their review, Amanat staff closed the deal: no money is held for it any more.',
        ru: 'После проверки сотрудники Amanat закрыли сделку: денег по ней больше не хранится.',
      };
    }
    return join(
      kind === 'release'
        ? {
            en: 'After their review, Amanat staff released the money held to the seller.',
            ru: 'После проверки сотрудники Amanat выплатили хранящиеся деньги продавцу.',
          }
        : {
            en: 'After their review, Amanat staff refunded the money held to the buyer.',
            ru: 'После проверки сотрудники Amanat вернули хранящиеся деньги покупателю.',
          },
      yourPayout(c),
    );
  },
};

const FALLBACK = (): Localized => ({ en: 'The deal was updated.', ru: 'Сделка обновлена.' });

const DEAL_WORD: Localized = { en: 'Deal', ru: 'Сделка' };
const STATUS_WORD: Localized = { en: 'Status', ru: 'Статус' };
const OPEN_BUTTON: Localized = { en: 'Open the deal', ru: 'Открыть сделку' };

/** The message a party gets for one deal event, in their language. Pure: no I/O, no clock. */
export function dealNotificationText(input: DealNotificationInput, locale: Locale): DealNotificationText {
  const role = input.recipient.role;
  const actor = input.actor;
  const ctx: Ctx = {
    input,
    role,
    you: actor.kind === 'user' && actor.userId === input.recipient.userId,
    by: actor.kind === 'user' ? actor.role : 'system',
    facts: input.facts,
    money: (units) => ({
      en: money(units, input.deal.asset, 'en'),
      ru: money(units, input.deal.asset, 'ru'),
    }),
    due: {
      en: money(input.deal.amountDue, input.deal.asset, 'en'),
      ru: money(input.deal.amountDue, input.deal.asset, 'ru'),
    },
    when: (at) => (at ? { en: when(at, 'en'), ru: when(at, 'ru') } : null),
    quote: (key) => {
      const text = stringFact(input.facts[key]);
      if (text === null || text.trim() === '') return null;
      const safe = userText(text, QUOTE_MAX);
      return { en: safe, ru: safe };
    },
  };
  const body = (Object.hasOwn(BODIES, input.action) ? BODIES[input.action] : undefined) ?? FALLBACK;
  const title = userText(input.deal.title, TITLE_MAX) || DEAL_WORD[locale];
  const lines = [`<b>${title}</b>`, body(ctx)[locale]];
  if (isState(input.stateAfter))
    lines.push(`${STATUS_WORD[locale]}: ${stateLabel(input.stateAfter, locale)}`);
  return { text: lines.join('\n\n'), button: OPEN_BUTTON[locale] };
}

/** What an operator is told about each review reason the code raises; other reasons are shown as written. */
const REVIEW_REASONS: Record<string, Localized> = {
  late_payment: {
    en: 'A payment arrived after the payment window; it is recorded but not counted.',
    ru: 'Платёж пришёл после окончания срока оплаты; он записан, но не засчитан.',
  },
  foreign_asset: {
    en: 'A payment arrived in another asset or on another chain than the deal’s; it is recorded but not counted.',
    ru: 'Пришёл платёж в другом активе или в другой сети, чем у сделки; он записан, но не засчитан.',
  },
  denylisted_sender: {
    en: 'A payment came from a sender on the denylist; it is recorded but not counted.',
    ru: 'Пришёл платёж от отправителя из стоп-листа; он записан, но не засчитан.',
  },
  funding_lost_after_progress: {
    en: 'A payment the deal relied on was reversed on the chain (a reorganisation) after the deal moved on.',
    ru: 'Платёж, на котором держалась сделка, отменён в блокчейне (реорганизация) после того, как сделка продвинулась дальше.',
  },
  funds_changed_after_close: {
    en: 'The money at the deal’s deposit address changed after the deal was settled.',
    ru: 'Сумма на адресе депозита сделки изменилась после расчёта по ней.',
  },
};

/**
 * The text of a `payout_failed:<record>:<why>` review reason, or null for any other reason (or a cause
 * this catalogue does not know, which is then shown as written).
 */
export function payoutFailureText(reason: string): Localized | null {
  const match = /^payout_failed:([a-z_]+):([a-z_]+)$/.exec(reason);
  return match ? payoutFailureSentence(match[1] ?? '', match[2] ?? '') : null;
}

/**
 * The text of a `balance_drift:<chainId>:<token>:<onchain>:<ledger>` review reason (the reconciliation
 * job: a deposit address's balance differs from the ledger), or null for any other reason.
 */
export function balanceDriftText(reason: string): Localized | null {
  const match = /^balance_drift:(\d+):(native|0x[0-9a-f]{40}):(-?\d+):(-?\d+)$/.exec(reason);
  if (!match) return null;
  const [, chainId, token, onchain, ledger] = match as unknown as [string, string, string, string, string];
  const asset: Localized =
    token === 'native'
      ? { en: 'base units of the native coin', ru: 'минимальных единиц нативной монеты' }
      : { en: `base units of token ${token}`, ru: `минимальных единиц токена ${token}` };
  return {
    en: `On chain ${chainId}, the deposit address holds ${onchain} ${asset.en}, but the ledger accounts for ${ledger}: money arrived or left without a record.`,
    ru: `В сети ${chainId} на адресе депозита ${onchain} ${asset.ru}, а по учёту должно быть ${ledger}: средства пришли или ушли без записи.`,
  };
}

/**
 * The text of a `payout_approval_required:<leg id>` review reason (a payout above
 * PAYOUT_APPROVAL_THRESHOLD waits for an operator), or null for any other reason.
 */
export function payoutApprovalText(reason: string): Localized | null {
  const match = /^payout_approval_required:(\d+)$/.exec(reason);
  if (!match) return null;
  return {
    en: `Payout #${match[1]} is above the approval threshold and waits for an operator to approve it on the review screen.`,
    ru: `Выплата №${match[1]} превышает порог одобрения и ждёт, пока оператор одобрит её на экране проверок.`,
  };
}

const REVIEW_HEADING: Localized = { en: 'Review needed', ru: 'Нужна проверка' };
const REVIEW_REASON_WORD: Localized = { en: 'Reason', ru: 'Причина' };
const REVIEW_NO_REASON: Localized = {
  en: 'The deal was flagged for review.',
  ru: 'Сделка отмечена для проверки.',
};
const REVIEW_BUTTON: Localized = { en: 'Open reviews', ru: 'Открыть проверки' };

export interface ReviewAlertInput {
  dealId: string;
  title: string;
  /** The deal's state after the change that raised the review. */
  state: string | null;
  /** The review reasons the change raised, as the activity entry recorded them. */
  reasons: readonly string[];
}

/**
 * The alert an operator gets when a deal is flagged for review or gets a new reason. Pure. A reason the
 * code does not know (an operator's or a component's own words) is quoted, escaped and clipped.
 */
export function reviewAlertText(input: ReviewAlertInput, locale: Locale): DealNotificationText {
  const title = userText(input.title, TITLE_MAX) || DEAL_WORD[locale];
  const reasons = [...new Set(input.reasons)].map((reason) => {
    const known =
      (Object.hasOwn(REVIEW_REASONS, reason) ? REVIEW_REASONS[reason] : undefined) ??
      payoutFailureText(reason) ??
      payoutApprovalText(reason) ??
      balanceDriftText(reason);
    return `• ${known ? known[locale] : `${REVIEW_REASON_WORD[locale]}: «${userText(reason, QUOTE_MAX)}»`}`;
  });
  const lines = [
    `<b>${REVIEW_HEADING[locale]}</b>: <b>${title}</b>`,
    reasons.length > 0 ? reasons.join('\n') : REVIEW_NO_REASON[locale],
  ];
  const status = isState(input.state) ? `${STATUS_WORD[locale]}: ${stateLabel(input.state, locale)}\n` : '';
  lines.push(`${status}ID: <code>${escapeTelegramHtml(input.dealId)}</code>`);
  return { text: lines.join('\n\n'), button: REVIEW_BUTTON[locale] };
}
