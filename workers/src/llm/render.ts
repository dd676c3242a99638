import {
  ASSISTANT_FACTS_CLOSE,
  ASSISTANT_FACTS_OPEN,
  ASSISTANT_FUNDING_TEXT,
  ASSISTANT_LABELS,
  ASSISTANT_ROLE_NAMES,
  type AssetRegistry,
  type AssistantSurface,
  type DealState,
  feeTermsText,
  formatAmount,
  isFullyFunded,
  type Locale,
  STATE_GUIDE,
  stateLabel,
  TERMINAL_STATES,
} from '@amanat/core';
import type { DealPaymentRow, DealRecord } from '@amanat/platform';
import { type PartyRole, shortId } from './deal-access.ts';

/**
 * Facts about deals in the user's language, written by the server from the deal's record. These blocks
 * are what an answer states about a deal's state and money; no model writes them.
 */

export interface RenderContext {
  registry: AssetRegistry;
  locale: Locale;
  surface: AssistantSurface;
}

const L = (key: keyof typeof ASSISTANT_LABELS, locale: Locale) => ASSISTANT_LABELS[key][locale];

/** `2026-11-05 14:00 UTC`: people read it, and the zone is stated since we do not know theirs. */
export const formatTime = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Invisible format characters: the facts markers among them, and the bidi controls that can make text
 * read in another order than it is written. Nobody but the server writes them into an answer.
 */
export const INVISIBLE_FORMAT = /[\u061c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/gu;

/**
 * A title or other text a person wrote, made safe to show inside a server-written line: one line,
 * bounded, without invisible format characters, and in the app without Markdown that could pass for ours
 * (links, emphasis).
 */
export function quoteUserText(
  text: string,
  ctx: { surface: AssistantSurface; locale: Locale },
  max = 80,
): string {
  const line = text.replace(INVISIBLE_FORMAT, '').replace(/\s+/g, ' ').trim();
  const short = line.length > max ? `${line.slice(0, max - 1)}…` : line;
  const safe = ctx.surface === 'app' ? short.replace(/[\\`*_[\]()<>#!|~]/g, (c) => `\\${c}`) : short;
  return ctx.locale === 'ru' ? `«${safe}»` : `“${safe}”`;
}

const code = (text: string, surface: AssistantSurface) => (surface === 'app' ? `\`${text}\`` : text);

/**
 * A facts block: a heading, label–value rows and notes, as Markdown in the app and plain text in the bot,
 * between the invisible facts markers so that `replaceFactsBlocks` finds it in an answer sent back later.
 */
export function factsBlock(
  heading: string,
  rows: Array<[string, string]>,
  notes: string[],
  surface: AssistantSurface,
): string {
  const lines =
    surface === 'app'
      ? [`**${heading}**`, ...rows.map(([k, v]) => `- ${k}: ${v}`), ...notes.map((n) => `- ${n}`)]
      : [heading, ...rows.map(([k, v]) => `${k}: ${v}`), ...notes];
  return `${ASSISTANT_FACTS_OPEN}${lines.join('\n')}${ASSISTANT_FACTS_CLOSE}`;
}

const FACTS_BLOCK = new RegExp(`${ASSISTANT_FACTS_OPEN}[\\s\\S]*?(?:${ASSISTANT_FACTS_CLOSE}|$)`, 'gu');

/**
 * An earlier answer with each facts block replaced by `placeholder`. A block whose end is missing (a
 * client cut the answer short) runs to the end of the text: what is left of it is still the server's.
 */
export const replaceFactsBlocks = (text: string, placeholder: string): string =>
  text.replace(FACTS_BLOCK, placeholder);

export interface TokenInfo {
  symbol: string;
  name: string;
  decimals: number;
  contract: string | null;
  chainName: string;
  confirmations: number;
  finalized: boolean;
}

export function tokenInfo(registry: AssetRegistry, deal: Pick<DealRecord, 'asset'>): TokenInfo {
  const token = registry.findToken(deal.asset);
  const chain = registry.chain(deal.asset.chainId);
  return {
    // A token dropped from the registry after the deal was made still has its deal: show raw units.
    symbol: token?.symbol ?? '?',
    name: token?.name ?? '?',
    decimals: token?.decimals ?? 0,
    contract: deal.asset.token === 'native' ? null : deal.asset.token,
    chainName: chain?.name ?? `chain ${deal.asset.chainId}`,
    confirmations: chain?.confirmations ?? 0,
    finalized: chain?.finality === 'finalized',
  };
}

export const money = (units: bigint, t: Pick<TokenInfo, 'decimals' | 'symbol'>): string =>
  `${formatAmount(units, t.decimals)} ${t.symbol}`;

const dealHeading = (deal: DealRecord, ctx: RenderContext) =>
  `${L('deal', ctx.locale)} ${quoteUserText(deal.title, ctx)} #${shortId(deal.id)}`;

/** What is still to send: the amount due less what arrived, confirmed or still confirming. */
export const stillToPay = (deal: DealRecord): bigint => {
  const paid = deal.confirmedAmount + deal.confirmingAmount;
  return deal.quote.amountDue > paid ? deal.quote.amountDue - paid : 0n;
};

const confirmationsText = (t: TokenInfo, locale: Locale) =>
  t.finalized ? L('finalized', locale) : String(t.confirmations);

const COLLECTING: readonly DealState[] = ['awaiting_payment', 'partially_paid'];

/** Sentences on why the deal is (not yet) funded, from its recorded payments. */
export function fundingNotes(
  deal: DealRecord & { payments: DealPaymentRow[] },
  ctx: RenderContext,
): string[] {
  const { locale } = ctx;
  const t = tokenInfo(ctx.registry, deal);
  if (deal.state === 'draft') return [ASSISTANT_FUNDING_TEXT.notYetPayable(locale)];
  if (!COLLECTING.includes(deal.state)) {
    if (isFullyFunded(deal.funding) && !TERMINAL_STATES.includes(deal.state)) {
      return [ASSISTANT_FUNDING_TEXT.alreadyFunded(locale)];
    }
    return [ASSISTANT_FUNDING_TEXT.closed({ state: stateLabel(deal.state, locale) }, locale)];
  }
  const notes: string[] = [];
  const counts = (cls: string) => deal.payments.filter((p) => p.classification === cls).length;
  if (deal.confirmingAmount > 0n) {
    notes.push(
      ASSISTANT_FUNDING_TEXT.confirming(
        { amount: money(deal.confirmingAmount, t), confirmations: confirmationsText(t, locale) },
        locale,
      ),
    );
  }
  if (deal.confirmedAmount > 0n && deal.confirmedAmount < deal.quote.amountDue) {
    notes.push(
      ASSISTANT_FUNDING_TEXT.partial(
        {
          received: money(deal.confirmedAmount, t),
          due: money(deal.quote.amountDue, t),
          remaining: money(stillToPay(deal), t),
          deadline: deal.deadlines.payment ? formatTime(deal.deadlines.payment) : '—',
        },
        locale,
      ),
    );
  }
  if (deal.confirmedAmount === 0n && deal.confirmingAmount === 0n) {
    notes.push(
      ASSISTANT_FUNDING_TEXT.nothingSeen(
        {
          amount: money(deal.quote.amountDue, t),
          network: t.chainName,
          address: code(deal.deposit?.address ?? '—', ctx.surface),
        },
        locale,
      ),
    );
  }
  const stray = counts('foreign') + counts('late') + counts('denylisted');
  if (stray > 0) notes.push(ASSISTANT_FUNDING_TEXT.stray({ count: stray }, locale));
  if (counts('ignored') > 0) notes.push(ASSISTANT_FUNDING_TEXT.ignored(locale));
  return notes;
}

/** The deal's state and money, as `get_deal` shows them. */
export function renderDeal(
  deal: DealRecord & { payments: DealPaymentRow[] },
  role: PartyRole,
  ctx: RenderContext,
): string {
  const { locale } = ctx;
  const t = tokenInfo(ctx.registry, deal);
  const rows: Array<[string, string]> = [
    [L('state', locale), stateLabel(deal.state, locale)],
    [L('yourRole', locale), ASSISTANT_ROLE_NAMES[role][locale]],
    [L('price', locale), money(deal.quote.price, t)],
    [L('fee', locale), money(deal.quote.fee, t)],
    [L('amountDue', locale), money(deal.quote.amountDue, t)],
  ];
  if (deal.state !== 'draft') rows.push([L('received', locale), money(deal.confirmedAmount, t)]);
  if (deal.confirmingAmount > 0n) rows.push([L('confirming', locale), money(deal.confirmingAmount, t)]);
  if (COLLECTING.includes(deal.state)) {
    rows.push([L('remaining', locale), money(stillToPay(deal), t)]);
    if (deal.deadlines.payment) rows.push([L('payBy', locale), formatTime(deal.deadlines.payment)]);
  }
  if (deal.state === 'funded' && deal.deadlines.delivery) {
    rows.push([L('deliverBy', locale), formatTime(deal.deadlines.delivery)]);
  }
  if (deal.state === 'delivered' && deal.deadlines.inspection) {
    rows.push([L('inspectionEnds', locale), formatTime(deal.deadlines.inspection)]);
  }
  const notes = COLLECTING.includes(deal.state) ? fundingNotes(deal, ctx) : [];
  if (deal.needsReview) notes.push(`${L('review', locale)}.`);
  return factsBlock(dealHeading(deal, ctx), rows, notes, ctx.surface);
}

/** Where and what to pay; only for a deal that is collecting money. */
export function renderPaymentInstructions(
  deal: DealRecord & { payments: DealPaymentRow[] },
  ctx: RenderContext,
) {
  const { locale, surface } = ctx;
  const t = tokenInfo(ctx.registry, deal);
  const remaining = stillToPay(deal);
  const rows: Array<[string, string]> = [
    [L('sendExactly', locale), money(remaining, t)],
    [
      L('token', locale),
      t.contract
        ? `${t.symbol} (${t.name}), ${L('tokenContract', locale).toLowerCase()} ${code(t.contract, surface)}`
        : `${t.symbol} — ${L('nativeCoin', locale)}`,
    ],
    [L('network', locale), `${t.chainName} (chain id ${deal.asset.chainId})`],
    [L('depositAddress', locale), code(deal.deposit?.address ?? '—', surface)],
    [L('confirmations', locale), confirmationsText(t, locale)],
  ];
  if (deal.deadlines.payment) rows.push([L('payBy', locale), formatTime(deal.deadlines.payment)]);
  const notes: string[] = [];
  if (deal.confirmingAmount > 0n) {
    notes.push(
      ASSISTANT_FUNDING_TEXT.confirming(
        { amount: money(deal.confirmingAmount, t), confirmations: confirmationsText(t, locale) },
        locale,
      ),
    );
  }
  return factsBlock(dealHeading(deal, ctx), rows, notes, surface);
}

/** What a state means and what each side can do; for a deal, from the user's side of it. */
export function renderStateExplanation(
  state: DealState,
  ctx: RenderContext,
  deal?: { record: DealRecord; role: PartyRole },
): string {
  const { locale } = ctx;
  const guide = STATE_GUIDE[state];
  const rows: Array<[string, string]> = [[L('whatItMeans', locale), guide.meaning[locale]]];
  if (deal) {
    const other: PartyRole = deal.role === 'seller' ? 'buyer' : 'seller';
    rows.push([L('youCan', locale), guide[deal.role][locale]]);
    rows.push([L('counterpartyCan', locale), guide[other][locale]]);
  } else {
    rows.push([L('sellerCan', locale), guide.seller[locale]]);
    rows.push([L('buyerCan', locale), guide.buyer[locale]]);
  }
  const notes = deal?.record.needsReview ? [`${L('review', locale)}.`] : [];
  const heading = deal
    ? `${dealHeading(deal.record, ctx)} — ${stateLabel(state, locale)}`
    : stateLabel(state, locale);
  return factsBlock(heading, rows, notes, ctx.surface);
}

/** One line per deal, newest first. */
export function renderDealList(
  deals: readonly DealRecord[],
  userId: string,
  ctx: RenderContext,
  more: boolean,
  heading: string = L('deals', ctx.locale),
): string {
  const { locale, surface } = ctx;
  if (deals.length === 0) return L('noDeals', locale);
  const lines = deals.map((d) => {
    const t = tokenInfo(ctx.registry, d);
    const role = d.seller?.userId === userId ? 'seller' : 'buyer';
    return `${quoteUserText(d.title, ctx, 60)} #${shortId(d.id)} — ${stateLabel(d.state, locale)} — ${money(d.quote.amountDue, t)} (${ASSISTANT_ROLE_NAMES[role][locale]})`;
  });
  return factsBlock(heading, [], more ? [...lines, L('moreDeals', locale)] : lines, surface);
}

/** The deal's fee terms in words (percentage, minimum, who pays). */
export function renderFees(deal: DealRecord, ctx: RenderContext): string {
  const t = tokenInfo(ctx.registry, deal);
  const bps = deal.feeTerms.feeBps;
  const percent = `${Math.trunc(bps / 100)}${
    bps % 100
      ? `.${String(bps % 100)
          .padStart(2, '0')
          .replace(/0$/, '')}`
      : ''
  }`;
  const text = feeTermsText(
    {
      percent,
      minimum: money(deal.feeTerms.feeMin, t),
      payer: deal.feeTerms.feePayer,
      fee: money(deal.quote.fee, t),
      buyerFee: money(deal.quote.buyerFee, t),
    },
    ctx.locale,
  );
  return factsBlock(dealHeading(deal, ctx), [], [text], ctx.surface);
}
