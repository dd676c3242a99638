import { createLogger } from '@amanat/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { echo, type LlmDouble, startLlmDouble } from '../../../devstack/llm-double.ts';
import { ProviderChain, retryAfterMs, UpstreamError } from './providers.ts';

let first: LlmDouble;
let second: LlmDouble;
let logs: string[];
let waits: number[];
let chain: ProviderChain;

beforeAll(async () => {
  first = await startLlmDouble({ apiKey: 'sk-first-provider-key-5555555555' });
  second = await startLlmDouble({ apiKey: 'sk-second-provider-key-666666666' });
});

afterAll(async () => {
  await first.close();
  await second.close();
});

beforeEach(() => {
  first.respond(echo);
  second.respond(echo);
  logs = [];
  waits = [];
  chain = new ProviderChain(
    [
      { name: 'first', baseUrl: first.baseUrl, apiKey: first.apiKey, model: 'a' },
      { name: 'second', baseUrl: second.baseUrl, apiKey: second.apiKey, model: 'b' },
    ],
    {
      logger: createLogger('providers-test', 'trace', { write: (line: string) => void logs.push(line) }),
      backoffMs: 100,
      maxRetryAfterMs: 5000,
      sleep: async (ms) => void waits.push(ms),
    },
  );
});

const ask = (text: string) =>
  chain.complete({ messages: [{ role: 'user', content: text }], maxTokens: 50 }, () => {});

describe('the provider chain', () => {
  it('waits as long as Retry-After says before retrying', async () => {
    first.failNext(429, 1, 3);
    const result = await ask('hi');
    expect(result).toMatchObject({ text: 'You said: hi', provider: 'first' });
    expect(waits).toEqual([3000]);
  });

  it('backs off without Retry-After, and gives up on a provider after two retries', async () => {
    first.respond(() => ({ fail: { status: 502, message: 'bad gateway' } }));
    const result = await ask('hi');
    expect(result.provider).toBe('second');
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(75);
    expect(waits[1]).toBeGreaterThan(waits[0] as number);
  });

  it('does not wait out a Retry-After longer than its limit: the next provider answers at once', async () => {
    first.failNext(429, 1, 60);
    const result = await ask('hi');
    expect(result.provider).toBe('second');
    expect(waits).toEqual([]);
  });

  it('does not retry a client error such as 400, and reports every provider failing', async () => {
    const before = first.requests.length;
    first.respond(() => ({ fail: { status: 400, message: 'bad request' } }));
    second.respond(() => ({ fail: { status: 400, message: 'bad request' } }));
    const failure = await ask('hi').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ status: 502, streamed: false });
    expect(first.requests.length - before).toBe(1);
  });

  it('reports no tool call and the usage the upstream counted', async () => {
    const result = await ask('count me');
    expect(result.toolCalls).toEqual([]);
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
  });

  it('assembles streamed tool calls', async () => {
    first.respond(() => ({ toolCalls: [{ name: 'get_deal', arguments: { deal: 'abcd1234' } }] }));
    const result = await ask('my deal');
    expect(result.text).toBe('');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({ name: 'get_deal', arguments: '{"deal":"abcd1234"}' });
    expect(result.toolCalls[0]?.id).not.toBe('');
  });

  it('never writes a key into its logs or errors, even when an upstream echoes it back', async () => {
    first.respond(() => ({ fail: { status: 500, message: `key ${first.apiKey} is over quota` } }));
    second.respond(() => ({
      fail: { status: 401, message: `Incorrect API key provided: ${second.apiKey}` },
    }));
    const failure = (await ask('hi').catch((err: unknown) => err)) as Error;
    expect(failure).toBeInstanceOf(UpstreamError);
    const written = `${logs.join('\n')}\n${failure.message}`;
    expect(written).toContain('LLM upstream call failed');
    expect(written).toContain('[redacted]');
    expect(written).not.toContain(first.apiKey);
    expect(written).not.toContain(second.apiKey);
    expect(written).not.toContain(second.apiKey.slice(-8));
  });

  it('sends no Authorization header to a provider configured without a key', async () => {
    const keyless = new ProviderChain([{ name: 'local', baseUrl: first.baseUrl, model: 'a' }], {
      logger: createLogger('providers-test', 'silent'),
      retries: 0,
    });
    await keyless
      .complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 }, () => {})
      .catch(() => {});
    expect(first.requests.at(-1)?.authorization).toBeUndefined();
  });
});

describe('Retry-After', () => {
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});
