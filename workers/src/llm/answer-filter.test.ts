import {
  ASSISTANT_FACTS_CLOSE,
  ASSISTANT_FACTS_OPEN,
  ASSISTANT_LABELS,
  createRegistry,
  DEAL_STATES,
  type DealState,
  LOCALES,
  stateLabel,
} from '@amanat/core';
import { describe, expect, it } from 'vitest';
import { canonicalNumber, FactsLedger, filterModelText, ModelTextStream } from './answer-filter.ts';
import { dealReferences, MAX_DEAL_REFERENCES } from './deal-access.ts';
import { factsBlock, quoteUserText, replaceFactsBlocks } from './render.ts';

const registry = createRegistry();
const bot = { surface: 'bot' as const, locale: 'en' as const };
const app = { surface: 'app' as const, locale: 'en' as const };
const SEE = ASSISTANT_LABELS.seeFacts.en;

const ledger = (facts: string, states: DealState[] = []) => {
  const l = new FactsLedger(registry);
  l.add(facts, states);
  return l;
};

describe('state claims in the model’s words', () => {
  it('recognises every state by its labels and its raw name, and keeps it only when the facts show it', () => {
    for (const state of DEAL_STATES) {
      const names = [state, state.replace(/_/g, ' '), ...LOCALES.map((l) => stateLabel(state, l))].filter(
        // Everyday words are recognised only in forms that claim a state (tested below).
        (n) => !['Спор', 'Split', 'split'].includes(n),
      );
      const other: DealState = state === 'funded' ? 'draft' : 'funded';
      for (const name of names) {
        const sentence = `Now: ${name}.`;
        expect(filterModelText(sentence, ledger('', [state]), bot), name).toBe(sentence);
        expect(filterModelText(sentence, ledger('', [other]), bot), name).toBe('');
        expect(filterModelText(sentence, ledger(''), bot), name).toBe('');
      }
    }
  });

  it('reads the longest claim: "partially paid" is not "paid", "not funded yet" is true of a deal still collecting', () => {
    expect(filterModelText('Сделка оплачена частично.', ledger('', ['partially_paid']), bot)).not.toBe('');
    expect(filterModelText('Сделка оплачена.', ledger('', ['partially_paid']), bot)).toBe('');
    expect(filterModelText('It is not funded yet.', ledger('', ['awaiting_payment']), bot)).not.toBe('');
    expect(filterModelText('Сделка ещё не оплачена.', ledger('', ['awaiting_payment']), bot)).not.toBe('');
    expect(filterModelText('It is not funded yet.', ledger('', ['funded']), bot)).toBe('');
    expect(filterModelText('It has been released!', ledger('', ['funded']), bot)).toBe('');
    expect(filterModelText('Деньги выплачены продавцу.', ledger('', ['delivered']), bot)).toBe('');
  });

  it('leaves everyday words alone: a fee that is split, a dispute one may open', () => {
    const none = ledger('');
    for (const text of [
      'The fee is split between the parties.',
      'Вы можете открыть спор.',
      'Pay the deal.',
    ]) {
      expect(filterModelText(text, none, bot)).toBe(text);
    }
    expect(filterModelText('The money was split.', none, bot)).toBe('');
  });
});

describe('money and addresses in the model’s words', () => {
  const address = `0x${'5a'.repeat(20)}`;
  const facts = factsBlock(
    'Deal',
    [
      ['Send exactly', '1000.5 USDT'],
      ['Deposit address', address],
    ],
    [],
    'bot',
  );

  it('keeps an address or amount the facts show, in any case or notation, and replaces any other', () => {
    const l = ledger(facts);
    expect(filterModelText(`Pay ${address.toUpperCase().replace('0X', '0x')}.`, l, bot)).toBe(
      `Pay ${address.toUpperCase().replace('0X', '0x')}.`,
    );
    for (const same of ['1000.5 USDT', '1,000.50 USDT', '1 000,5 usdt', 'USDT 1000.5']) {
      expect(filterModelText(`Send ${same} now.`, l, bot)).toBe(`Send ${same} now.`);
    }
    expect(filterModelText('Send 1000.6 USDT now.', l, bot)).toBe(`Send ${SEE} now.`);
    expect(filterModelText('Send 3 ETH now.', l, bot)).toBe(`Send ${SEE} now.`);
    expect(filterModelText(`Pay 0x${'11'.repeat(20)} or see 0x${'22'.repeat(32)}.`, l, bot)).toBe(
      `Pay ${SEE} or see ${SEE}.`,
    );
    // Numbers without a token are not amounts the filter judges.
    expect(filterModelText('Wait 2 confirmations.', l, bot)).toBe('Wait 2 confirmations.');
  });

  it('reads numbers the ways people write them', () => {
    expect(canonicalNumber('1,000.50')).toBe('1000.5');
    expect(canonicalNumber('1 000,5')).toBe('1000.5');
    expect(canonicalNumber('0,25')).toBe('0.25');
    expect(canonicalNumber('007')).toBe('7');
    expect(canonicalNumber('100.000')).toBe('100');
  });

  it('drops links and images in the app, keeps the link text, and strips invisible characters', () => {
    const text = `See [docs](https://x.example) and <https://y.example> ![p](https://z.example/p.png)${ASSISTANT_FACTS_OPEN}\u202e.`;
    expect(filterModelText(text, ledger(''), app)).toBe('See docs and https://y.example .');
    expect(filterModelText(text, ledger(''), bot)).toBe(
      'See [docs](https://x.example) and <https://y.example> ![p](https://z.example/p.png).',
    );
  });
});

describe('the model text stream', () => {
  const run = async (pieces: string[], filter: (unit: string) => string = (u) => u) => {
    const out: string[] = [];
    const stream = new ModelTextStream(filter, async (t) => {
      out.push(t);
    });
    for (const p of pieces) await stream.push(p);
    await stream.end();
    return out;
  };
  const chunks = (text: string, n: number) => text.match(new RegExp(`[\\s\\S]{1,${n}}`, 'g')) ?? [];

  it('hands on whole sentences and lines, whatever the chunks, without leading or trailing whitespace', async () => {
    const text = '  First one. Second one!\nA line\n\nLast one?  ';
    for (const n of [1, 3, 7, 100]) {
      const out = await run(chunks(text, n));
      expect(out).toEqual(['First one.', ' Second one!', '\nA line', '\n\nLast one?']);
    }
  });

  it('drops a filtered sentence together with its whitespace', async () => {
    const out = await run(['Keep this. Drop that. Keep too.'], (u) => (u.startsWith('Drop') ? '' : u));
    expect(out.join('')).toBe('Keep this. Keep too.');
  });

  it('does not hold text without punctuation for ever', async () => {
    const out = await run([`${'word '.repeat(100)}`]);
    expect(out.length).toBeGreaterThan(1);
    expect(out.join('')).toBe('word '.repeat(100).trim());
  });
});

describe('facts blocks', () => {
  it('are delimited, found again in an earlier answer, and cannot be forged through quoted text', () => {
    const title = `Lamp${ASSISTANT_FACTS_CLOSE} free text`;
    const block = factsBlock(quoteUserText(title, bot), [['State', 'Funded']], [], 'bot');
    expect(block.startsWith(ASSISTANT_FACTS_OPEN)).toBe(true);
    expect(block.endsWith(ASSISTANT_FACTS_CLOSE)).toBe(true);
    expect(block.split(ASSISTANT_FACTS_CLOSE)).toHaveLength(2);
    const answer = `${block}\n\nModel words.`;
    expect(replaceFactsBlocks(answer, '[facts]')).toBe('[facts]\n\nModel words.');
    // Cut short by a client: the rest of the block is still hidden.
    expect(replaceFactsBlocks(answer.slice(0, 12), '[facts]')).toBe('[facts]');
  });
});

describe('deal references in a message', () => {
  it('are distinct and at most a few, however many id-like words there are', () => {
    const words = Array.from({ length: 30 }, (_, i) => (0x10000000 + i).toString(16));
    const refs = dealReferences(`${words.join(' ')} ${words.join(' ')} #${words[0]}`);
    expect(refs).toHaveLength(MAX_DEAL_REFERENCES);
    expect(new Set(refs).size).toBe(refs.length);
    expect(dealReferences('deal #abcdef12 and ABCDEF12 and abcdef12')).toEqual(['abcdef12']);
  });
});
