import { BASIC_ASSISTANT_TEXT, type DealState, type Locale } from '@amanat/core';
import type { DealRecord } from '@amanat/platform';
import { findUserDeal, listUserDeals, namedDealId, shortId } from './deal-access.ts';
import { factsBlock, fundingNotes, renderDealList, renderFees } from './render.ts';
import { runTool, type ToolContext } from './tools.ts';

/**
 * The built-in responder: answers the common questions without any LLM, from the same tools the model
 * uses, so the whole system works offline. Intents are found by keywords in English and Russian.
 */

export type BasicIntent = 'not_funded' | 'disputes' | 'fees' | 'pay' | 'status' | 'list' | 'help';

/** Checked in this order: the more specific question first ("why is my payment not there" is not "how to pay"). */
const INTENT_PATTERNS: Array<[BasicIntent, RegExp]> = [
  [
    'not_funded',
    /\b(not|never|isn'?t|hasn'?t|didn'?t|wasn'?t)\b.{0,30}\b(funded|paid|arrived?|received|confirmed|credited|show(ing|s|n)?( up)?|there|through)\b|\bstill\b.{0,30}\b(waiting|awaiting|pending|unpaid|unfunded)\b|\bwhere('?s| is)\b.{0,20}\b(payment|money|funds|transfer)\b|\bwhy\b.{0,40}\b(funded|paid|pending|waiting|payment|money)\b|(?<!\p{L})не\s*(оплачен|пришл|приш[её]л|поступ|зачисл|подтвержд|видн|засчита|отобража)|где\s.{0,20}(деньги|плат[её]ж|оплата|перевод)|почему.{0,40}(оплат|плат[её]ж|деньг|ожида|не\s)/iu,
  ],
  ['disputes', /disput|arbitrat|complain|спор|арбитр|претензи|жалоб/iu],
  [
    'fees',
    /\bfees?\b|commission|\bcharges?\b|how much.{0,30}(cost|charge|take)|комисси|сбор|сколько.{0,30}(стоит|берёте|берете|берет|берёт)/iu,
  ],
  [
    'pay',
    /\bpay|payment|deposit|send.{0,20}(money|funds|usdt|usdc|eth)|\btransfer|wallet|address|оплат|заплат|плат[иеёя]|перев[еёо]|депозит|адрес|кошел/iu,
  ],
  [
    'status',
    /status|\bstate\b|progress|what'?s (up|happening)|how is my deal|where is my deal|статус|состояни|что с .{0,15}сделк|как .{0,15}сделк|на каком этапе/iu,
  ],
  ['list', /\bdeals\b|\blist\b|сделки|список|сделок/iu],
];

export function detectIntent(text: string): BasicIntent {
  for (const [intent, pattern] of INTENT_PATTERNS) if (pattern.test(text)) return intent;
  return 'help';
}

const COLLECTING: readonly DealState[] = ['awaiting_payment', 'partially_paid'];

/** A deal the message names by id, short id, invite code or title, among the user's own. */
async function namedDeal(
  ctx: ToolContext,
  text: string,
  open: readonly DealRecord[],
): Promise<string | null> {
  const byRef = await namedDealId(ctx.db, ctx.userId, text);
  if (byRef) return byRef;
  const lower = text.toLowerCase();
  const byTitle = open.filter(
    (d) => d.title.trim().length >= 3 && lower.includes(d.title.trim().toLowerCase()),
  );
  return byTitle.length === 1 ? (byTitle[0] as DealRecord).id : null;
}

const facts = async (tool: string, args: Record<string, unknown>, ctx: ToolContext) =>
  (await runTool(tool, JSON.stringify(args), ctx)).facts;

const pick = (deals: readonly DealRecord[], ctx: ToolContext) =>
  renderDealList(deals, ctx.userId, ctx, false, BASIC_ASSISTANT_TEXT.pickDeal[ctx.locale]);

export interface BasicRequest {
  tools: ToolContext;
  /** The user's last message. */
  text: string;
  /** Say that the full assistant is unavailable (the providers failed), not merely unconfigured. */
  unavailable?: boolean;
}

/** The basic assistant's whole answer, in the tools' locale. */
export async function basicAnswer(req: BasicRequest): Promise<string> {
  const ctx = req.tools;
  const body = await answerBody(detectIntent(req.text), req.text, ctx);
  const t = (key: keyof typeof BASIC_ASSISTANT_TEXT, locale: Locale) => BASIC_ASSISTANT_TEXT[key][locale];
  return [t('header', ctx.locale), ...(req.unavailable ? [t('unavailable', ctx.locale)] : []), body].join(
    '\n\n',
  );
}

async function answerBody(intent: BasicIntent, text: string, ctx: ToolContext): Promise<string> {
  const { locale } = ctx;
  if (intent === 'help') return BASIC_ASSISTANT_TEXT.help[locale];
  if (intent === 'list') return facts('list_deals', { include_closed: true }, ctx);

  const { deals: open } = await listUserDeals(ctx.db, ctx.userId, { includeClosed: false, limit: 50 });
  const named = await namedDeal(ctx, text, open);
  const inScope = (states?: readonly DealState[]) =>
    states ? open.filter((d) => states.includes(d.state)) : open;
  /** The deal the question is about: the one named, or the only one that fits. */
  const subject = (states?: readonly DealState[]): { id: string } | { candidates: DealRecord[] } => {
    if (named) return { id: named };
    const fits = inScope(states);
    return fits.length === 1 ? { id: (fits[0] as DealRecord).id } : { candidates: fits };
  };

  switch (intent) {
    case 'status': {
      const s = subject();
      if ('id' in s) {
        return [
          await facts('get_deal', { deal: s.id }, ctx),
          await facts('explain_state', { deal: s.id }, ctx),
        ].join('\n\n');
      }
      if (s.candidates.length === 0) return facts('list_deals', { include_closed: true }, ctx);
      return pick(s.candidates, ctx);
    }
    case 'pay': {
      const s = subject(COLLECTING);
      if ('id' in s) return facts('get_payment_instructions', { deal: s.id }, ctx);
      if (s.candidates.length === 0) {
        return [
          BASIC_ASSISTANT_TEXT.noPayableDeal[locale],
          BASIC_ASSISTANT_TEXT.howToPayGeneral[locale],
        ].join('\n\n');
      }
      return pick(s.candidates, ctx);
    }
    case 'not_funded': {
      const s = subject(COLLECTING);
      if ('id' in s) {
        const found = await findUserDeal(ctx.db, ctx.userId, s.id);
        if (found.kind !== 'found') return facts('get_deal', { deal: s.id }, ctx);
        const { deal } = found.deal;
        const dealFacts = await facts('get_deal', { deal: s.id }, ctx);
        // A deal that is collecting explains its funding inside its facts; any other says why it is not.
        return COLLECTING.includes(deal.state)
          ? dealFacts
          : [factsBlock(`#${shortId(deal.id)}`, [], fundingNotes(deal, ctx), ctx.surface), dealFacts].join(
              '\n\n',
            );
      }
      if (s.candidates.length === 0) {
        return [BASIC_ASSISTANT_TEXT.noPayableDeal[locale], await facts('list_deals', {}, ctx)].join('\n\n');
      }
      return pick(s.candidates, ctx);
    }
    case 'disputes': {
      const disputed = named ? [named] : inScope(['disputed']).map((d) => d.id);
      const general = BASIC_ASSISTANT_TEXT.disputes[locale];
      return disputed.length === 1
        ? [general, await facts('explain_state', { deal: disputed[0] }, ctx)].join('\n\n')
        : general;
    }
    case 'fees': {
      const s = subject();
      const general = BASIC_ASSISTANT_TEXT.fees[locale];
      if (!('id' in s)) return general;
      const found = await findUserDeal(ctx.db, ctx.userId, s.id);
      return found.kind === 'found' ? [renderFees(found.deal.deal, ctx), general].join('\n\n') : general;
    }
  }
}
