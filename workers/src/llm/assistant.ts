import {
  ASSISTANT_LABELS,
  assistantSystemPrompt,
  type LlmMessage,
  type LlmUsage,
  type Locale,
  localeOf,
} from '@amanat/core';
import type { ChatMessage, ProviderChain } from './providers.ts';
import { runTool, TOOL_DEFINITIONS, type ToolContext, toolMessageContent } from './tools.ts';

/**
 * The tool loop: the model is called with the tools, the server runs the calls it asks for, and the
 * model is called again, for a bounded number of rounds. Only answer text reaches the user: the facts
 * each tool rendered, written by the server, and the model's own words after them.
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
}

const MAX_ROUNDS = 4;
const MAX_CALLS_PER_ROUND = 6;
const MAX_TURNS = 20;
const MAX_CONVERSATION_CHARS = 24_000;
const MAX_LAST_MESSAGE_CHARS = 8_000;

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

/** The most recent turns that fit the budget, so a long chat costs a bounded prompt. */
export function recentTurns(conversation: readonly LlmMessage[]): LlmMessage[] {
  const kept: LlmMessage[] = [];
  let chars = 0;
  for (const m of [...conversation].reverse().slice(0, MAX_TURNS)) {
    const content = kept.length === 0 ? m.content.slice(0, MAX_LAST_MESSAGE_CHARS) : m.content;
    if (kept.length > 0 && chars + content.length > MAX_CONVERSATION_CHARS) break;
    chars += content.length;
    kept.unshift({ role: m.role, content });
  }
  return kept;
}

/** About four characters a token: used when an upstream reports no usage, and by the basic responder. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

const messageChars = (messages: readonly ChatMessage[]) =>
  messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);

export async function runAssistant(req: AssistantRequest): Promise<{ usage: LlmUsage }> {
  const { tools, out } = req;
  const maxRounds = req.maxRounds ?? MAX_ROUNDS;
  const today = (req.now ?? new Date()).toISOString().slice(0, 10);
  const messages: ChatMessage[] = [
    { role: 'system', content: assistantSystemPrompt(tools.locale, tools.surface, today) },
    ...recentTurns(req.conversation),
  ];
  const usage: LlmUsage = { promptTokens: 0, completionTokens: 0 };

  // The answer is written as facts blocks and runs of model text, separated by blank lines.
  let last: 'none' | 'facts' | 'text' = 'none';
  const pendingFacts: string[] = [];
  const shownFacts = new Set<string>();
  const flushFacts = async () => {
    for (const block of pendingFacts.splice(0)) {
      await out.write(last === 'none' ? block : `\n\n${block}`);
      last = 'facts';
    }
  };

  for (let round = 0; round < maxRounds; round++) {
    const final = round === maxRounds - 1;
    let run: 'waiting' | 'writing' = 'waiting';
    const result = await req.chain.complete(
      { messages, tools: TOOL_DEFINITIONS, toolChoice: final ? 'none' : 'auto', maxTokens: req.maxTokens },
      async (text) => {
        let piece = text;
        if (run === 'waiting') {
          // The facts go right before the model's words, so both are one answer in reading order.
          piece = text.replace(/^\s+/, '');
          if (piece === '') return;
          await flushFacts();
          if (last !== 'none') piece = `\n\n${piece}`;
          run = 'writing';
        }
        await out.write(piece);
        last = 'text';
      },
    );
    usage.promptTokens += result.usage?.promptTokens ?? Math.ceil(messageChars(messages) / 4);
    usage.completionTokens +=
      result.usage?.completionTokens ??
      estimateTokens(result.text + result.toolCalls.map((c) => c.name + c.arguments).join(''));

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
      if (outcome.facts !== '' && !shownFacts.has(outcome.facts)) {
        shownFacts.add(outcome.facts);
        pendingFacts.push(outcome.facts);
      }
      messages.push({ role: 'tool', tool_call_id: call.id, content: toolMessageContent(call.name, outcome) });
    }
  }
  await flushFacts();
  if (last === 'none') await out.write(ASSISTANT_LABELS.emptyAnswer[tools.locale]);
  return { usage };
}
