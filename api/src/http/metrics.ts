import type { Request, RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { acquireSystemQueues } from '../admin/queues.ts';
import type { ApiContext } from '../context.ts';

/** The job states a queue's depth is reported in. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** bull-board's own routes and assets count as one route: they are not the API. */
const BOARD_PREFIX = '/admin/queues';

/**
 * The route pattern that handled a request (`/api/deals/:id`), never the raw path: ids in a label
 * would make a new series per deal. Requests that matched no route share one label.
 */
export function routeLabel(req: Request): string {
  const path = req.originalUrl.split('?')[0] ?? '';
  if (path.toLowerCase().startsWith(BOARD_PREFIX)) return `${BOARD_PREFIX}/*`;
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern !== 'string') return '(unmatched)';
  return `${req.baseUrl ?? ''}${pattern}`;
}

/**
 * Prometheus metrics on a registry of this server's own, so several API instances in one process
 * (the tests) do not collide. GET /metrics is not authenticated: it must only be reachable from
 * inside the network (the reverse proxy does not route it).
 */
export function createMetrics(ctx: ApiContext) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, matched route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const held = acquireSystemQueues(ctx);
  new Gauge({
    name: 'queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        held.queues.map(async (queue) => {
          try {
            const counts = await queue.getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch (err) {
            // A missing series is the signal; failing the whole scrape would hide every other metric.
            ctx.logger.warn({ err, queue: queue.name }, 'queue depth unavailable for metrics');
          }
        }),
      );
    },
  });

  /** Incremented by the payment callback route for every request whose signature does not verify. */
  const callbackVerificationFailures = new Counter({
    name: 'payment_callback_verification_failures_total',
    help: 'Payment callbacks refused because their signature, timestamp or format did not verify',
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requestDuration.observe(
        {
          method: METHODS.has(req.method) ? req.method : 'OTHER',
          route: routeLabel(req),
          status: String(res.statusCode),
        },
        seconds,
      );
    });
    next();
  };

  const handler: RequestHandler = async (_req, res) => {
    const text = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(text);
  };

  return {
    registry,
    middleware,
    handler,
    callbackVerificationFailures,
    close: async () => {
      registry.clear();
      await held.release();
    },
  };
}
