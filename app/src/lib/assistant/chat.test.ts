import { describe, expect, it, vi } from 'vitest';
import { ChatState, clearSavedChats, MAX_TURNS } from './chat.svelte.ts';

const encoder = new TextEncoder();
const delta = (content: string) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;

/** A response body the test writes into while the chat reads it. */
function controlledStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    write: (text: string) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
  };
}

const streamOf = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const part of parts) c.enqueue(encoder.encode(part));
      c.close();
    },
  });

const sse = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });

const problem = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { message, type: 'x', code, param: null } }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function chatWith(fetchImpl: typeof fetch, extra: Partial<ConstructorParameters<typeof ChatState>[0]> = {}) {
  return new ChatState({ baseUrl: 'https://assist.test/', token: () => 'tok-1', fetch: fetchImpl, ...extra });
}

describe('ChatState', () => {
  it('sends the conversation with the session as the key and shows tokens as they arrive', async () => {
    const stream = controlledStream();
    const fetchImpl = vi.fn<typeof fetch>(async () => sse(stream.body));
    const chat = chatWith(fetchImpl);
    chat.draft = '  How do I pay?  ';
    const sent = chat.send();
    await flush();

    expect(chat.draft).toBe('');
    expect(chat.streaming).toBe(true);
    const [url, init] = fetchImpl.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('https://assist.test/v1/chat/completions');
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer tok-1');
    expect(JSON.parse(init.body as string)).toEqual({
      model: 'amanat-assistant',
      stream: true,
      messages: [{ role: 'user', content: 'How do I pay?' }],
    });

    stream.write(`: keep-alive\n\n${delta('Send ')}`);
    await flush();
    expect(chat.turns.at(-1)).toEqual({ role: 'assistant', content: 'Send ' });
    stream.write(delta('USDT.'));
    stream.write('data: [DONE]\n\n');
    await sent;
    expect(chat.streaming).toBe(false);
    expect(chat.error).toBeNull();
    expect(chat.turns).toEqual([
      { role: 'user', content: 'How do I pay?' },
      { role: 'assistant', content: 'Send USDT.' },
    ]);

    // The next question carries the earlier turns.
    fetchImpl.mockResolvedValueOnce(sse(streamOf(delta('Yes.'), 'data: [DONE]\n\n')));
    chat.draft = 'Any fee?';
    await chat.send();
    const body = JSON.parse((fetchImpl.mock.calls[1] as [string, RequestInit])[1].body as string);
    expect(body.messages).toEqual([
      { role: 'user', content: 'How do I pay?' },
      { role: 'assistant', content: 'Send USDT.' },
      { role: 'user', content: 'Any fee?' },
    ]);
  });

  it('stops on request and keeps what arrived', async () => {
    const stream = controlledStream();
    const chat = chatWith(async () => sse(stream.body));
    chat.draft = 'Tell me everything';
    const sent = chat.send();
    await flush();
    stream.write(delta('Part one'));
    await flush();
    chat.stop();
    await sent;
    expect(chat.streaming).toBe(false);
    expect(chat.error).toBeNull();
    expect(chat.turns.at(-1)).toEqual({ role: 'assistant', content: 'Part one', stopped: true });
  });

  it('puts the question back when stopped before any answer', async () => {
    const chat = chatWith(
      (_url, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        ),
    );
    chat.draft = 'Hello';
    const sent = chat.send();
    chat.stop();
    await sent;
    expect(chat.turns).toEqual([]);
    expect(chat.draft).toBe('Hello');
    expect(chat.error).toBeNull();
  });

  it('explains refusals by status and gives the question back', async () => {
    const cases: Array<[Response, string, number | null]> = [
      [problem(429, 'daily_quota_exceeded', 'Quota used', { 'x-should-retry': 'false' }), 'quota', null],
      [problem(429, 'rate_limit_exceeded', 'Slow down', { 'retry-after': '12' }), 'rate_limited', 12],
      [problem(503, 'assistant_unavailable', 'Unavailable'), 'unavailable', null],
      [problem(504, 'timeout', 'Too slow'), 'unavailable', null],
      [new Response('<html>bad gateway</html>', { status: 502 }), 'unavailable', null],
      [problem(400, 'role_not_supported', 'No system prompts'), 'refused', null],
    ];
    for (const [res, kind, retryAfterSec] of cases) {
      const chat = chatWith(async () => res);
      chat.draft = 'Question';
      await chat.send();
      expect(chat.error?.kind).toBe(kind);
      expect(chat.error?.retryAfterSec).toBe(retryAfterSec);
      expect(chat.turns).toEqual([]);
      expect(chat.draft).toBe('Question');
    }
  });

  it('signs out on 401', async () => {
    const onUnauthorized = vi.fn();
    const chat = chatWith(async () => problem(401, 'invalid_api_key', 'Bad key'), { onUnauthorized });
    chat.draft = 'Hi';
    await chat.send();
    expect(chat.error?.kind).toBe('signed_out');
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('says the network is needed when offline, without trying', async () => {
    const fetchImpl = vi.fn<typeof fetch>();
    const chat = chatWith(fetchImpl, { online: () => false });
    chat.draft = 'Hi';
    await chat.send();
    expect(chat.error?.kind).toBe('offline');
    expect(fetchImpl).not.toHaveBeenCalled();
    expect(chat.draft).toBe('Hi');
  });

  it('tells a failed connection apart from being offline', async () => {
    const chat = chatWith(async () => {
      throw new TypeError('Failed to fetch');
    });
    chat.draft = 'Hi';
    await chat.send();
    expect(chat.error?.kind).toBe('unreachable');
  });

  it('reports an error sent inside the stream and a stream that ends without [DONE]', async () => {
    const failing = chatWith(async () =>
      sse(
        streamOf(
          delta('Partial'),
          `data: ${JSON.stringify({ error: { message: 'Too slow', type: 'server_error', code: 'timeout' } })}\n\n`,
        ),
      ),
    );
    failing.draft = 'Hi';
    await failing.send();
    expect(failing.error).toEqual({ kind: 'unavailable', message: 'Too slow', retryAfterSec: null });
    expect(failing.turns.at(-1)).toEqual({ role: 'assistant', content: 'Partial', stopped: true });

    const cut = chatWith(async () => sse(streamOf(delta('Half'))));
    cut.draft = 'Hi';
    await cut.send();
    expect(cut.error?.kind).toBe('interrupted');
    expect(cut.turns.at(-1)?.content).toBe('Half');
  });

  it('keeps a bounded conversation in storage, per person, and erases it on sign-out', async () => {
    const fetchImpl: typeof fetch = async () => sse(streamOf(delta('ok'), 'data: [DONE]\n\n'));
    const chat = chatWith(fetchImpl, { storage: sessionStorage, storageScope: 'user-a' });
    for (let i = 0; i < MAX_TURNS; i++) {
      chat.draft = `question ${i}`;
      await chat.send();
    }
    expect(chat.turns).toHaveLength(MAX_TURNS);
    expect(chat.turns.at(-2)?.content).toBe(`question ${MAX_TURNS - 1}`);

    const reopened = chatWith(fetchImpl, { storage: sessionStorage, storageScope: 'user-a' });
    expect(reopened.turns).toEqual(chat.turns);
    expect(chatWith(fetchImpl, { storage: sessionStorage, storageScope: 'user-b' }).turns).toEqual([]);

    clearSavedChats(sessionStorage);
    expect(chatWith(fetchImpl, { storage: sessionStorage, storageScope: 'user-a' }).turns).toEqual([]);
  });
});
