import type { Pool } from '@amanat/platform';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Redis } from 'ioredis';

/** RFC 9457 problem details: the one error shape every route answers with. */
export const problem = (status: number, code: string, title: string, detail?: string) => ({
  type: `https://amanat.app/problems/${code}`,
  title,
  status,
  code,
  ...(detail ? { detail } : {}),
});

export function createApp(deps: { pool: Pool; redis: Redis }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      deps.pool.query('SELECT 1').then(
        () => ['postgres', 'ok'] as const,
        () => ['postgres', 'failing'] as const,
      ),
      deps.redis.ping().then(
        () => ['redis', 'ok'] as const,
        () => ['redis', 'failing'] as const,
      ),
    ]);
    const ready = checks.every(([, state]) => state === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(checks) });
  });

  app.use((_req, res) => {
    res
      .status(404)
      .type('application/problem+json')
      .json(problem(404, 'not_found', 'No such route'));
  });

  const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
    res
      .status(500)
      .type('application/problem+json')
      .json(problem(500, 'internal', 'Internal error'));
  };
  app.use(onError);
  return app;
}
