// bench:assist's comparison for the streaming design: the other option the issue names, serving the
// upstream's stream in-process. A bare pass-through with no queue, no auth, no limits and no cap: an
// Express handler that calls the upstream with the official client and pipes its chunks as SSE. Measured
// next to the pub/sub relay, what it costs less is the most the relay (and everything else the real proxy
// does) can cost. Measurement scaffolding only, never a product path.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import OpenAI from 'openai';
import { z } from 'zod';

const bodySchema = z.object({
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() })).min(1),
  stream: z.boolean().optional(),
});

export interface InProcessProxy {
  /** Base URL including /v1, for an OpenAI client. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startInProcessProxy(upstream: {
  baseUrl: string;
  apiKey: string;
  model: string;
}): Promise<InProcessProxy> {
  const client = new OpenAI({ baseURL: upstream.baseUrl, apiKey: upstream.apiKey, maxRetries: 0 });
  const app = express();
  app.post('/v1/chat/completions', express.json(), async (req, res) => {
    const parsed = bodySchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: { message: 'invalid request', type: 'invalid_request_error' } });
      return;
    }
    const { messages, stream } = parsed.data;
    try {
      if (!stream) {
        res.json(await client.chat.completions.create({ model: upstream.model, messages }));
        return;
      }
      const chunks = await client.chat.completions.create({ model: upstream.model, messages, stream: true });
      res
        .status(200)
        .set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
      for await (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      res.end('data: [DONE]\n\n');
    } catch (err) {
      if (res.headersSent) res.destroy(err as Error);
      else res.status(502).json({ error: { message: 'upstream failed', type: 'server_error' } });
    }
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 60_000;
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
