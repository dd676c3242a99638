import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AssistConfig, assistConfigSchema, loadConfig } from '@amanat/core';
import { connectRedis, createLogger, createRedis } from '@amanat/platform';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { type AssistBot, type AssistServer, createAssistServer } from '../server.ts';
import { type Assistant, assistantFromConfig } from './ask.ts';
import type { AssistantLimits } from './limits.ts';

/** The app origin test services admit (the same one the test API uses). */
export const TEST_APP_ORIGIN = 'http://app.test';

export interface TestAssist {
  url: string;
  /** The proxy's OpenAI base URL (…/v1). */
  baseURL: string;
  config: AssistConfig;
  assistant: Assistant;
  limits: AssistantLimits;
  server: AssistServer;
  redis: Redis;
  bot: AssistBot | null;
  /** The official client, signed in with an Amanat session (retries off, so each call is one request). */
  client(apiKey: string, opts?: { maxRetries?: number }): OpenAI;
  close(): Promise<void>;
}

/** An assist service on a free port, sharing the API's Redis prefix so it reaches the same llm workers. */
export async function startTestAssist(opts: {
  apiUrl: string;
  redisUrl: string;
  prefix: string;
  env?: Record<string, string>;
  keepAliveMs?: number;
  /** Builds the bot on the service's own assistant; it is started and stopped with the service. */
  bot?: (deps: { config: AssistConfig; redis: Redis; ask: Assistant['ask'] }) => AssistBot;
}): Promise<TestAssist> {
  const config = loadConfig('assist', assistConfigSchema, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: opts.prefix,
    API_URL: opts.apiUrl,
    APP_ORIGIN: TEST_APP_ORIGIN,
    ASSIST_SERVICE_SECRET: 'assist-service-secret-for-tests-0123456789',
    ...opts.env,
  });
  const logger = createLogger('assist', config.LOG_LEVEL);
  const redis = await connectRedis(createRedis(config.REDIS_URL, 'producer', 'assist-test'));
  const subscriber = await connectRedis(createRedis(config.REDIS_URL, 'producer', 'assist-test-pubsub'));
  const { assistant, limits } = assistantFromConfig(config, { redis, subscriber, logger });
  const bot = opts.bot ? opts.bot({ config, redis, ask: assistant.ask }) : null;
  const server = createAssistServer({
    config,
    logger,
    redis,
    subscriber,
    assistant,
    bot,
    ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
  });
  const http = server.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  server.attach(http);
  await bot?.start();
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    config,
    assistant,
    limits,
    server,
    redis,
    client: (apiKey, o = {}) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: o.maxRetries ?? 0 }),
    bot,
    async close() {
      await bot?.stop();
      await server.close(1000);
      await assistant.close();
      subscriber.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * A pass-through HTTP proxy in front of a real server that counts requests per path: shows how many
 * session checks reach the API.
 */
export async function startCountingProxy(
  target: string,
): Promise<{ url: string; count(path: string): number; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const to = new URL(target);
  const proxy = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    count: (path) => counts.get(path) ?? 0,
    async close() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
