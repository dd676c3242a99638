import {
  ASSISTANT_LABELS,
  assistantSystemPrompt,
  estimateTokens,
  type LlmMessage,
  type LlmUsage,
  type Locale,
  localeOf,
  recentTurns,
} from '@amanat/core';
import { FactsLedger, filterModelText, ModelTextStream } from './answer-filter.ts';
import { type ChatMessage, type ProviderChain, UpstreamError } from './providers.ts';
import { INVISIBLE_FORMAT, replaceFactsBlocks } from './render.ts';
import {
  runTool,
  TOOL_DEFINITIONS,
  type ToolContext,
  type ToolOutcome,
  toolMessageContent,
} from './tools.ts';

/**
 * The tool loop: the model is called with the tools, the server runs the calls it asks for, and the
 * model is called again, for a bounded number of rounds. Only answer text reaches the user: the facts
 * each tool rendered, written by the server, and the model's own words after them, sentence by sentence,
 * with whatever they say about states and money that those facts do not show taken out (answer-filter.ts).
 */

/** Where the answer goes as it is written; every piece is part of the final answer, in order. */
export interface AnswerSink {
  write(text: string): Promise<void>;
}

export interface AssistantRequest {
  chain: ProviderChain;
  tools: ToolContext;
  conversation: readonly LlmMessage[];
  maxTokens: number;
  out: AnswerSink;
  /** Model calls at most, the last of them without tools. */
  maxRounds?: number;
  now?: Date;
  /**
   * A deal of the user's that the question names (by id, short id or invite code): the server looks it up
   * before the model is called, so its facts come first whatever the model does, and the model knows them.
   */
  namedDeal?: string | null;
  /** Counts the tokens of each upstream round as soon as it ends, or breaks off (then estimated). */
  onUsage?: (usage: LlmUsage) => Promise<void>;
  /** Whether whoever asked has gone: asked before each round and, now and then, while the model writes. */
  cancelled?: () => Promise<boolean>;
  /** How often `cancelled` is asked while the model writes. */
  cancelCheckMs?: number;
}

/** The request was cancelled (its client went away): the model is not called again. */
export class AnswerCancelled extends Error {
  constructor() {
    super('the request was cancelled');
    this.name = 'AnswerCancelled';
  }
}

const MAX_ROUNDS = 4;
const MAX_CALLS_PER_ROUND = 6;
const CANCEL_CHECK_MS = 250;
const NAMED_DEAL_CALL_ID = 'call_amanat_named_deal';

const CYRILLIC = /\p{Script=Cyrillic}/u;
const LATIN_WORDS = /\p{Script=Latin}{2,}.*\p{Script=Latin}{2,}/su;

/**
 * The language to answer in: Cyrillic in the message means Russian, a message in Latin letters means
 * English, anything else (a number, an id) keeps the user's setting.
 */
export function answerLocale(userLanguage: string | null | undefined, message: string): Locale {
  if (CYRILLIC.test(message)) return 'ru';
  if (LATIN_WORDS.test(message)) return 'en';
  return localeOf(userLanguage);
}

export const lastUserMessage = (conversation: readonly LlmMessage[]): string =>
  [...conversation].reverse().find((m) => m.role === 'user')?.content ?? '';

/**
 * The conversation as the model gets it: the budget's most recent turns, with every facts block in an
 * earlier answer replaced by a placeholder. Those blocks hold text the counterparty wrote (titles), and in
 * an assistant turn the model would read it as its own words rather than as quoted data.
 */
export function conversationForModel(conversation: readonly LlmMessage[], locale: Locale): LlmMessage[] {
  const placeholder = ASSISTANT_LABELS.factsOmitted[locale];
  return recentTurns(
    conversation.map((m) =>
      m.role === 'assistant'
        ? { role: m.role, content: replaceFactsBlocks(m.content, placeholder).replace(INVISIBLE_FORMAT, '') }
        : m,
    ),
  );
}

const messageChars = (messages: readonly ChatMessage[]) =>
  messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);

const estimatedPrompt = (messages: readonly ChatMessage[]) => Math.ceil(messageChars(messages) / 4);

export async function runAssistant(req: AssistantRequest): Promise<{ usage: LlmUsage }> {
  const { tools, out } = req;
  const maxRounds = req.maxRounds ?? MAX_ROUNDS;
  const cancelCheckMs = req.cancelCheckMs ?? CANCEL_CHECK_MS;
  const today = (req.now ?? new Date()).toISOString().slice(0, 10);
  const messages: ChatMessage[] = [
    { role: 'system', content: assistantSystemPrompt(tools.locale, tools.surface, today) },
    ...conversationForModel(req.conversation, tools.locale),
  ];
  const usage: LlmUsage = { promptTokens: 0, completionTokens: 0 };
  const count = async (round: LlmUsage) => {
    usage.promptTokens += round.promptTokens;
    usage.completionTokens += round.completionTokens;
    await req.onUsage?.(round);
  };
  const stopIfCancelled = async () => {
    if (req.cancelled && (await req.cancelled())) throw new AnswerCancelled();
  };

  // The answer is written as facts blocks and runs of model text, separated by blank lines.
  let last: 'none' | 'facts' | 'text' = 'none';
  const pendingFacts: string[] = [];
  const shownFacts = new Set<string>();
  const ledger = new FactsLedger(tools.registry);
  const flushFacts = async () => {
    for (const block of pendingFacts.splice(0)) {
      await out.write(last === 'none' ? block : `\n\n${block}`);
      last = 'facts';
    }
  };
  const showFacts = (outcome: ToolOutcome) => {
    ledger.add(outcome.facts, outcome.states);
    if (outcome.facts !== '' && !shownFacts.has(outcome.facts)) {
      shownFacts.add(outcome.facts);
      pendingFacts.push(outcome.facts);
    }
  };

  if (req.namedDeal) {
    // As if the model had asked for the deal first: its facts lead the answer and the model reads them.
    const args = JSON.stringify({ deal: req.namedDeal });
    const outcome = await runTool('get_deal', args, tools);
    showFacts(outcome);
    messages.push(
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: NAMED_DEAL_CALL_ID, type: 'function', function: { name: 'get_deal', arguments: args } },
        ],
      },
      { role: 'tool', tool_call_id: NAMED_DEAL_CALL_ID, content: toolMessageContent('get_deal', outcome) },
    );
  }

  for (let round = 0; round < maxRounds; round++) {
    const final = round === maxRounds - 1;
    await stopIfCancelled();
    let run: 'waiting' | 'writing' = 'waiting';
    // Only whole sentences go out, each checked against the facts shown so far.
    const text = new ModelTextStream(
      (unit) => filterModelText(unit, ledger, tools),
      async (piece) => {
        let next = piece;
        if (run === 'waiting') {
          // The facts go right before the model's words, so both are one answer in reading order.
          await flushFacts();
          if (last !== 'none') next = `\n\n${next}`;
          run = 'writing';
        }
        await out.write(next);
        last = 'text';
      },
    );
    let received = 0;
    let checkedAt = Date.now();
    let result: Awaited<ReturnType<ProviderChain['complete']>>;
    try {
      result = await req.chain.complete(
        { messages, tools: TOOL_DEFINITIONS, toolChoice: final ? 'none' : 'auto', maxTokens: req.maxTokens },
        async (piece) => {
          received += piece.length;
          if (Date.now() - checkedAt >= cancelCheckMs) {
            checkedAt = Date.now();
            await stopIfCancelled();
          }
          await text.push(piece);
        },
      );
      await text.end();
    } catch (err) {
      // A round that broke off after the upstream started answering still cost tokens: count an estimate.
      if (err instanceof AnswerCancelled || (err instanceof UpstreamError && err.streamed)) {
        await count({ promptTokens: estimatedPrompt(messages), completionTokens: Math.ceil(received / 4) });
      }
      throw err;
    }
    await count({
      promptTokens: result.usage?.promptTokens ?? estimatedPrompt(messages),
      completionTokens:
        result.usage?.completionTokens ??
        estimateTokens(result.text + result.toolCalls.map((c) => c.name + c.arguments).join('')),
    });

    if (result.toolCalls.length === 0 || final) break;
    messages.push({
      role: 'assistant',
      content: result.text === '' ? null : result.text,
      tool_calls: result.toolCalls.map((c) => ({
        id: c.id,
        type: 'function' as const,
        function: { name: c.name, arguments: c.arguments },
      })),
    });
    for (const [i, call] of result.toolCalls.entries()) {
      // Every call needs its answer in the conversation; calls over the cap get a refusal the model can read.
      const outcome =
        i < MAX_CALLS_PER_ROUND
          ? await runTool(call.name, call.arguments, tools)
          : { facts: '', data: { error: 'too_many_calls', limit: MAX_CALLS_PER_ROUND } };
      showFacts(outcome);
      messages.push({ role: 'tool', tool_call_id: call.id, content: toolMessageContent(call.name, outcome) });
    }
  }
  await flushFacts();
  if (last === 'none') await out.write(ASSISTANT_LABELS.emptyAnswer[tools.locale]);
  return { usage };
}
