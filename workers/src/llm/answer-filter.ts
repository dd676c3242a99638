import {
  ASSISTANT_LABELS,
  type AssetRegistry,
  type AssistantSurface,
  DEAL_STATES,
  type DealState,
  LOCALES,
  type Locale,
  stateLabel,
} from '@amanat/core';
import { INVISIBLE_FORMAT } from './render.ts';

/**
 * What the model may say about money and deal states. The server's facts blocks state them; the model's
 * words may only repeat what those blocks of the same answer show. So before any of its text is
 * published, each sentence is checked against them: a sentence naming a deal state the facts do not show
 * is dropped (its whole sentence, since "so go ahead and ship" beside a false state is as harmful as the
 * state), and an address, a transaction hash or an amount with a token symbol that the facts do not show
 * gives way to a short marker. A counterparty's planted instructions, or a model's guess, then cannot put
 * a false state or a foreign address into an answer.
 */

const PRE_FUNDING: readonly DealState[] = [
  'draft',
  'awaiting_payment',
  'partially_paid',
  'cancelled',
  'expired',
];

/**
 * How a state is named in words, beyond its labels and raw names, in every language we answer in. A claim
 * is consistent with the facts when one of its states is among theirs: "not funded yet" is true of a deal
 * still collecting money.
 */
const STATE_CLAIMS: ReadonlyArray<readonly [readonly DealState[], readonly string[]]> = [
  [['draft'], ['draft', 'черновик']],
  [
    ['awaiting_payment'],
    [
      'waiting for payment',
      'waiting for a payment',
      'waiting for the payment',
      'ждёт оплаты',
      'ожидает оплаты',
    ],
  ],
  [
    ['partially_paid'],
    ['partly paid', 'частично оплачена', 'оплачена частично', 'частично оплачено', 'оплачено частично'],
  ],
  [
    ['funded'],
    ['funded', 'fully funded', 'fully paid', 'оплачена', 'оплачено', 'оплачен', 'полностью оплачена'],
  ],
  [
    PRE_FUNDING,
    [
      'not funded',
      'not yet funded',
      'not been funded',
      'not fully funded',
      "isn't funded",
      "isn't yet funded",
      "hasn't been funded",
      'не оплачена',
      'не оплачено',
      'не полностью оплачена',
    ],
  ],
  [['delivered'], ['delivered', 'передано', 'передана', 'передан']],
  [
    ['disputed'],
    [
      'disputed',
      'in dispute',
      'under dispute',
      'в споре',
      'открыт спор',
      'спор открыт',
      'идёт спор',
      '«спор»',
    ],
  ],
  [['releasing'], ['releasing', 'выплата продавцу', 'выплачивается']],
  [['refunding'], ['refunding', 'возврат покупателю', 'возвращается']],
  [['splitting'], ['splitting', 'раздел средств']],
  [['released'], ['released', 'выплачено', 'выплачена', 'выплачены']],
  [['refunded'], ['refunded', 'возвращено', 'возвращена', 'возвращены']],
  // "split" alone is an everyday word ("the fee is split"): only its forms that say it happened count.
  [['split'], ['was split', 'were split', 'been split', 'got split', 'разделено', 'разделена', 'разделены']],
  [['cancelled'], ['cancelled', 'canceled', 'отменена', 'отменено', 'отменён']],
  [['expired'], ['expired', 'истекла', 'истекло']],
];

/** State names that are everyday words, left to the forms above: "Спор" is also "a dispute", "split" a verb. */
const EVERYDAY_WORDS = new Set(['спор', 'split']);

const normalize = (text: string): string =>
  text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[’‘]/g, "'")
    .replace(/[\s_-]+/g, ' ')
    .trim();

const termPattern = (term: string): string =>
  normalize(term)
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/ /g, '[\\s_-]+')
    .replace(/е/g, '[её]')
    .replace(/'/g, "['’‘]");

/** Every way of naming a state: its labels, its raw name ("awaiting_payment", "awaiting payment"), the words above. */
function stateTerms(): Map<string, Set<DealState>> {
  const terms = new Map<string, Set<DealState>>();
  const add = (term: string, states: readonly DealState[]) => {
    const key = normalize(term);
    const known = terms.get(key) ?? new Set<DealState>();
    for (const s of states) known.add(s);
    terms.set(key, known);
  };
  for (const state of DEAL_STATES) {
    for (const name of [state, ...LOCALES.map((locale) => stateLabel(state, locale))]) {
      if (!EVERYDAY_WORDS.has(normalize(name))) add(name, [state]);
    }
  }
  for (const [states, words] of STATE_CLAIMS) for (const word of words) add(word, states);
  return terms;
}

const STATE_TERMS = stateTerms();
const WORD_BEFORE = '(?<![\\p{L}\\p{N}_])';
const WORD_AFTER = '(?![\\p{L}\\p{N}_])';
/** Longest first, so "partially paid" is read as one claim and not as "paid". */
const STATE_TERM = new RegExp(
  `${WORD_BEFORE}(?:${[...STATE_TERMS.keys()]
    .sort((a, b) => b.length - a.length)
    .map(termPattern)
    .join('|')})${WORD_AFTER}`,
  'giu',
);

/** The deal states a text names. */
export function statesNamed(text: string): Array<Set<DealState>> {
  return [...text.matchAll(STATE_TERM)].map((m) => STATE_TERMS.get(normalize(m[0])) ?? new Set());
}

/** Addresses, transaction hashes and any other long hex a model could pass off as one. */
const HEX = /(?<![\p{L}\p{N}_])0x[0-9a-f]{8,}(?![\p{L}\p{N}_])/giu;

/** Coins a model might name although no registry lists them, so their amounts are checked too. */
const COMMON_SYMBOLS = [
  'USDT',
  'USDC',
  'DAI',
  'BUSD',
  'ETH',
  'WETH',
  'BTC',
  'WBTC',
  'BNB',
  'POL',
  'MATIC',
  'TRX',
  'TON',
  'SOL',
];
const NUMBER = '\\d+(?:[ \\u00a0\\u202f,]\\d{3})*(?:[.,]\\d+)?';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An amount's number as one canonical decimal string ("1,000.50" and "1000.5" are the same). */
export function canonicalNumber(text: string): string {
  let n = text.replace(/[\s\u00a0\u202f]/g, '');
  if (n.includes('.') && n.includes(',')) n = n.replace(/,/g, '');
  else if (/^\d{1,3}(,\d{3})+$/.test(n)) n = n.replace(/,/g, '');
  else n = n.replace(',', '.');
  const [whole = '0', fraction = ''] = n.split('.');
  const w = whole.replace(/^0+(?=\d)/, '');
  const f = fraction.replace(/0+$/, '');
  return f ? `${w}.${f}` : w;
}

function amountPattern(symbols: readonly string[]): RegExp {
  const sym = [...new Set(symbols.map((s) => s.toUpperCase()))]
    .filter((s) => /^[A-Z0-9.]{2,12}$/.test(s))
    .sort((a, b) => b.length - a.length)
    .map(escapeRegex)
    .join('|');
  return new RegExp(
    `(?<![\\p{L}\\p{N}_.,])(${NUMBER})[ \\u00a0]?(${sym})${WORD_AFTER}|${WORD_BEFORE}(${sym})[ \\u00a0]?(${NUMBER})(?![\\p{N}])`,
    'giu',
  );
}

const amountKey = (number: string, symbol: string) => `${canonicalNumber(number)} ${symbol.toUpperCase()}`;

/** What the facts blocks of one answer show: the only addresses, amounts and states its model text may name. */
export class FactsLedger {
  private readonly hex = new Set<string>();
  private readonly amounts = new Set<string>();
  readonly states = new Set<DealState>();
  readonly amount: RegExp;

  constructor(registry: AssetRegistry) {
    this.amount = amountPattern([...registry.tokens().map((t) => t.symbol), ...COMMON_SYMBOLS]);
  }

  add(facts: string, states: readonly DealState[] = []): void {
    for (const m of facts.matchAll(HEX)) this.hex.add(m[0].toLowerCase());
    for (const m of facts.matchAll(this.amount)) {
      this.amounts.add(amountKey((m[1] ?? m[4]) as string, (m[2] ?? m[3]) as string));
    }
    for (const s of states) this.states.add(s);
  }

  showsHex(text: string): boolean {
    return this.hex.has(text.toLowerCase());
  }

  showsAmount(number: string, symbol: string): boolean {
    return this.amounts.has(amountKey(number, symbol));
  }
}

/** Markdown that would make the model's words a link or load an image: the app renders Markdown. */
const MARKDOWN_LINKS: Array<[RegExp, string]> = [
  [/!\[[^\]\n]*\]\([^)\n]*\)/g, ''],
  [/!\[[^\]\n]*\]\[[^\]\n]*\]/g, ''],
  [/\[([^\]\n]*)\]\([^)\n]*\)/g, '$1'],
  [/\[([^\]\n]+)\]\[[^\]\n]*\]/g, '$1'],
  [/^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$/gm, ''],
  [/<((?:https?|ftp|mailto|tg):[^>\s]*)>/gi, '$1'],
  [/<\/?(?:a|img)\b[^>]*>/gi, ''],
];

export function withoutLinks(text: string): string {
  return MARKDOWN_LINKS.reduce((t, [pattern, by]) => t.replace(pattern, by), text);
}

/**
 * One sentence (or line) of the model's text as it may be published: '' when it names a deal state the
 * facts do not show, otherwise with unknown addresses, hashes and amounts replaced by a marker, and, in
 * the app, with links and images dropped.
 */
export function filterModelText(
  unit: string,
  ledger: FactsLedger,
  ctx: { surface: AssistantSurface; locale: Locale },
): string {
  let text = unit.replace(INVISIBLE_FORMAT, '');
  if (ctx.surface === 'app') text = withoutLinks(text);
  const contradicts = statesNamed(text).some((states) => ![...states].some((s) => ledger.states.has(s)));
  if (contradicts) return '';
  const marker = ASSISTANT_LABELS.seeFacts[ctx.locale];
  text = text.replace(HEX, (hex) => (ledger.showsHex(hex) ? hex : marker));
  return text.replace(ledger.amount, (whole, n1, s1, s2, n2) =>
    ledger.showsAmount((n1 ?? n2) as string, (s1 ?? s2) as string) ? whole : marker,
  );
}

/** Longest run of text held back while no sentence ends: a bounded delay for text without punctuation. */
const MAX_UNIT = 300;
const SENTENCE_END = /[.!?…]+["'’”»)\]*_`]*\s|\n/u;

/** Where the first whole sentence or line of `text` ends (0: none yet). */
function unitEnd(text: string): number {
  const m = SENTENCE_END.exec(text);
  if (m) return m.index + m[0].length;
  if (text.length < MAX_UNIT) return 0;
  const space = text.slice(0, MAX_UNIT).search(/\s\S*$/);
  return space > 0 ? space + 1 : MAX_UNIT;
}

/**
 * The model's streamed text, held until each sentence or line is whole, then filtered and handed on. The
 * whitespace after a piece is held too, so a dropped sentence leaves no gap and the text never ends in one.
 */
export class ModelTextStream {
  private buffer = '';
  private space = '';
  private started = false;
  private readonly filter: (unit: string) => string;
  private readonly write: (text: string) => Promise<void>;

  constructor(filter: (unit: string) => string, write: (text: string) => Promise<void>) {
    this.filter = filter;
    this.write = write;
  }

  async push(text: string): Promise<void> {
    this.buffer += text;
    for (let cut = unitEnd(this.buffer); cut > 0; cut = unitEnd(this.buffer)) {
      const unit = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut);
      await this.emit(unit);
    }
  }

  /** The rest of the text, once the model has finished. */
  async end(): Promise<void> {
    const rest = this.buffer;
    this.buffer = '';
    if (rest !== '') await this.emit(rest);
    this.space = '';
  }

  private async emit(unit: string): Promise<void> {
    const filtered = this.filter(unit);
    const [, lead = '', body = '', trail = ''] = /^(\s*)([\s\S]*?)(\s*)$/u.exec(filtered) ?? [];
    if (body === '') {
      // A blank line is kept as whitespace; a dropped sentence takes its own whitespace with it.
      if (filtered === unit) this.space += unit;
      return;
    }
    const text = this.started ? `${(this.space + lead).replace(/\n{3,}/g, '\n\n')}${body}` : body;
    this.started = true;
    this.space = trail;
    await this.write(text);
  }
}
