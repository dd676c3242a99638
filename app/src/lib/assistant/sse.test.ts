import { describe, expect, it } from 'vitest';
import { createSseParser, readCompletionChunk } from './sse.ts';

const chunk = (content: string) =>
  JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] });

describe('createSseParser', () => {
  it('returns the data of each complete event and skips comments', () => {
    const parser = createSseParser();
    const events = parser.push(
      `: keep-alive\n\ndata: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\ndata: [DONE]\n\n`,
    );
    expect(events).toEqual([chunk('Hel'), chunk('lo'), '[DONE]']);
    expect(parser.end()).toEqual([]);
  });

  it('keeps an event cut anywhere until its end arrives', () => {
    const text = `data: ${chunk('one')}\r\n\r\n: keep-alive\r\n\r\ndata: [DONE]\r\n\r\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const parser = createSseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut)), ...parser.end()];
      expect(events, `cut at ${cut}`).toEqual([chunk('one'), '[DONE]']);
    }
  });

  it('joins multi-line data with newlines and takes "data:" without a space', () => {
    const parser = createSseParser();
    expect(parser.push('data:first\ndata: second\nevent: x\nid: 7\n\n')).toEqual(['first\nsecond']);
  });

  it('dispatches a last event the server did not end with a blank line', () => {
    const parser = createSseParser();
    expect(parser.push('data: [DONE]')).toEqual([]);
    expect(parser.end()).toEqual(['[DONE]']);
  });

  it('treats a lone CR as a line end once the next character shows it is not CRLF', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\rdata: b\r\r')).toEqual(['a']);
    expect(parser.end()).toEqual(['b']);
  });
});

describe('readCompletionChunk', () => {
  it('reads answer text, the end marker and chunks without text', () => {
    expect(readCompletionChunk(chunk('Hi'))).toEqual({ kind: 'delta', text: 'Hi' });
    expect(readCompletionChunk('[DONE]')).toEqual({ kind: 'done' });
    expect(readCompletionChunk(chunk(''))).toEqual({ kind: 'other' });
    expect(
      readCompletionChunk(JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }], usage: null })),
    ).toEqual({ kind: 'other' });
    expect(readCompletionChunk(JSON.stringify({ choices: [], usage: { total_tokens: 3 } }))).toEqual({
      kind: 'other',
    });
    expect(readCompletionChunk('not json')).toEqual({ kind: 'other' });
  });

  it('reads an error the proxy sent after the stream started', () => {
    const body = {
      error: { message: 'The assistant took too long.', type: 'server_error', code: 'timeout', param: null },
    };
    expect(readCompletionChunk(JSON.stringify(body))).toEqual({
      kind: 'error',
      error: { message: 'The assistant took too long.', code: 'timeout', type: 'server_error' },
    });
  });
});
