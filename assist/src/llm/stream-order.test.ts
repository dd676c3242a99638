import type { AddressInfo } from 'node:net';
import { createLogger } from '@amanat/platform';
import express from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assistant } from './ask.ts';
import { llmRoutes } from './routes.ts';

/**
 * The worker may be faster than the enqueue's reply: its first delta can reach the route before the job
 * is known to be queued. The stream must still start once, as an event stream, and carry every delta.
 * The assistant here replays exactly that order; everything else is the real route and the real client.
 */
let server: ReturnType<ReturnType<typeof express>['listen']>;
let baseURL: string;

const earlyDeltaAssistant: Assistant = {
  async ask(req) {
    req.onDelta?.('Hello ');
    req.onStart?.();
    req.onDelta?.('there.');
    return {
      requestId: 'r',
      content: 'Hello there.',
      usage: { promptTokens: 1, completionTokens: 3 },
      basic: false,
    };
  },
  inFlight: () => 0,
  drain: async () => {},
  close: async () => {},
};

beforeAll(async () => {
  const app = express();
  app.use(
    llmRoutes({
      auth: { authenticate: async () => ({ id: '5f0c1f7e-8a8d-4a43-8f3a-2b6a9f3e9d10' }) as never },
      assistant: earlyDeltaAssistant,
      logger: createLogger('assist', 'silent'),
      appOrigin: 'http://app.test',
    }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('a delta that arrives before the job is known to be queued', () => {
  it('starts the event stream once and loses nothing', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'ses_test', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'amanat-assistant',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    let roles = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.role) roles += 1;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello there.');
    expect(roles).toBe(1);
  });
});
