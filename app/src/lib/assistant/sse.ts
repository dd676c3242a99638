/**
 * Server-sent events as the assistant proxy writes them (OpenAI's chat completion stream): `data:` lines
 * carrying JSON chunks, `: keep-alive` comments while the answer is queued, and a final `data: [DONE]`.
 * Pure: text in, events out, so the parsing is tested apart from any network.
 */

/**
 * Splits streamed text into the data of complete events. Text may arrive cut anywhere (mid-line, between
 * a CR and its LF); what is not yet a whole event is kept until the next push.
 */
export function createSseParser(): { push(text: string): string[]; end(): string[] } {
  let buffer = '';
  let data: string[] = [];
  let sawData = false;

  const takeLine = (line: string, out: string[]) => {
    if (line === '') {
      // A blank line ends an event; an event without data (a lone comment) dispatches nothing.
      if (sawData) out.push(data.join('\n'));
      data = [];
      sawData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data.push(value);
      sawData = true;
    }
    // `event`, `id` and `retry` mean nothing to a completion stream.
  };

  const drain = (final: boolean): string[] => {
    const out: string[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) break;
      // A CR at the very end may be the first half of a CRLF that has not arrived yet.
      if (!final && match[0] === '\r' && match.index === buffer.length - 1) break;
      takeLine(buffer.slice(0, match.index), out);
      buffer = buffer.slice(match.index + match[0].length);
    }
    return out;
  };

  return {
    push(text) {
      buffer += text;
      return drain(false);
    },
    end() {
      const out = drain(true);
      // The stream closed without a final blank line: what was complete still counts.
      if (buffer !== '') takeLine(buffer, out);
      buffer = '';
      takeLine('', out);
      return out;
    },
  };
}

export interface StreamError {
  message: string;
  code: string | null;
  type: string | null;
}

export type CompletionChunk =
  | { kind: 'delta'; text: string }
  | { kind: 'done' }
  | { kind: 'error'; error: StreamError }
  | { kind: 'other' };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One event's data as the app reads it: answer text, the end, or an error the proxy sent after the
 * stream had started (`{"error": {message, type, code}}`). Anything else (the role chunk, usage, the
 * finishing chunk) carries no text.
 */
export function readCompletionChunk(data: string): CompletionChunk {
  if (data.trim() === '[DONE]') return { kind: 'done' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { kind: 'other' };
  }
  if (!isRecord(json)) return { kind: 'other' };
  if (isRecord(json.error)) {
    const e = json.error;
    return {
      kind: 'error',
      error: {
        message: typeof e.message === 'string' ? e.message : 'The assistant failed.',
        code: typeof e.code === 'string' ? e.code : null,
        type: typeof e.type === 'string' ? e.type : null,
      },
    };
  }
  const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
  const content = isRecord(choice) && isRecord(choice.delta) ? choice.delta.content : undefined;
  return typeof content === 'string' && content !== '' ? { kind: 'delta', text: content } : { kind: 'other' };
}
