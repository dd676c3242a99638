import type { RequestHandler } from 'express';
import type { ApiContext } from '../context.ts';

// PLACEHOLDER — replaced by the metrics work.
export function createMetrics(_ctx: ApiContext) {
  const middleware: RequestHandler = (_req, _res, next) => next();
  const handler: RequestHandler = (_req, res) => {
    res.type('text/plain').send('');
  };
  return { middleware, handler, close: async () => {} };
}
