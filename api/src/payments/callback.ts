import {
  type AssetRegistry,
  type PaymentJob,
  type PaymentWebhookEvent,
  paymentJobSchema,
  paymentWebhookEventSchema,
} from '@amanat/core';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { ApiError, sendProblem, toApiError } from '../http/problem.ts';
import { MAX_BODY_BYTES } from '../http/route.ts';
import { acceptPaymentEvent, createPaymentsQueue, type PaymentsQueue } from './enqueue.ts';
import { checkWebhookHeaders, verifyWebhookBody } from './signature.ts';

/** Where scanners post payment events; gated by its signature, not by per-IP limits. */
export const PAYMENT_CALLBACK_PATH = '/api/payment/callback';

/** The answer to an accepted delivery, first or repeated. */
export const paymentCallbackAnswerSchema = z.object({
  accepted: z.literal(true),
  duplicate: z.boolean().describe('True when this webhook-id was accepted before; nothing new was enqueued'),
});
export type PaymentCallbackAnswer = z.infer<typeof paymentCallbackAnswerSchema>;

export interface PaymentCallbackDeps {
  ctx: Pick<ApiContext, 'config' | 'logger' | 'redis' | 'registry'>;
  /** Called once for every refused (401) delivery: the verification-failure metric. */
  onRefused: () => void;
  /** The payments queue to add to; by default one on `ctx.redis`, owned (and closed) here. */
  queue?: PaymentsQueue;
}

export interface PaymentCallback {
  /** Mounts POST /api/payment/callback (and 405 for other methods); call before CORS. */
  mount(app: Express): void;
  close(): Promise<void>;
}

// Verification needs the bytes as sent: no inflating, any content type, nothing parsed here.
const readRawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

const readBody = (req: Request, res: Response) =>
  new Promise<Buffer>((resolve, reject) => {
    readRawBody(req, res, (err?: unknown) => {
      if (err) reject(err);
      else resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    });
  });

const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalidEvent = (detail: string, errors: Array<{ path: string; message: string }>) =>
  new ApiError(400, 'payment_event_invalid', detail, {
    extra: { errors: errors.slice(0, 20).map((e) => ({ in: 'body', ...e })) },
  });

const issuesOf = (error: z.ZodError) =>
  error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));

/** The verified body as an event: UTF-8, JSON, and the schema the scanner publishes with. */
export function parsePaymentEvent(body: Buffer): PaymentWebhookEvent {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalidEvent('The body is not UTF-8', [{ path: '', message: 'not valid UTF-8' }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidEvent('The body is not JSON', [{ path: '', message: 'not valid JSON' }]);
  }
  const parsed = paymentWebhookEventSchema.safeParse(json);
  if (!parsed.success) throw invalidEvent('The body is not a payment event', issuesOf(parsed.error));
  return parsed.data;
}

/** The payments job for an event: facts only, under the sender's webhook id. */
export function paymentJobFor(
  webhookId: string,
  event: PaymentWebhookEvent,
  registry: Pick<AssetRegistry, 'activeChains'>,
): PaymentJob {
  const { chainId, txHash, logIndex, blockHash, blockNumber, to, token } = event.data;
  if (!registry.activeChains().some((chain) => chain.chainId === chainId)) {
    throw new ApiError(400, 'payment_chain_inactive', `Chain ${chainId} is not active on this server`, {
      extra: { errors: [{ in: 'body', path: 'data.chainId', message: 'not an active chain here' }] },
    });
  }
  return paymentJobSchema.parse({
    eventId: webhookId,
    type: event.type,
    chainId,
    txHash,
    logIndex,
    blockHash,
    blockNumber,
    to,
    token,
  });
}

/**
 * The scanner's signed callback: verify, dedupe, enqueue, answer 202. It is server-to-server: no
 * session, no CORS (mounted before it, and other methods, preflights included, get 405), so no
 * browser can send it with anyone's credentials or read its answer.
 */
export function createPaymentCallback(deps: PaymentCallbackDeps): PaymentCallback {
  const { config, logger, redis, registry } = deps.ctx;
  const webhook = new Webhook(config.PAYMENT_WEBHOOK_SECRET);
  const queue = deps.queue ?? createPaymentsQueue({ redis, prefix: config.REDIS_PREFIX, logger });

  const receive: RequestHandler = async (req, res) => {
    let webhookId: string | null = null;
    try {
      const headers = checkWebhookHeaders((name) => req.get(name));
      webhookId = headers['webhook-id'];
      const body = await readBody(req, res);
      verifyWebhookBody(webhook, body, headers);
      const job = paymentJobFor(webhookId, parsePaymentEvent(body), registry);
      const { duplicate } = await acceptPaymentEvent(
        { redis, prefix: config.REDIS_PREFIX, queue },
        webhookId,
        job,
      );
      const answer: PaymentCallbackAnswer = { accepted: true, duplicate };
      res.status(202).json(answer);
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.status === 401) {
        deps.onRefused();
        // The code and the id say what was wrong; the signature and the secret are never logged.
        logger.warn({ reqId: req.id, code: apiErr.code, webhookId }, 'payment callback refused');
      } else if (apiErr.status >= 500) {
        logger.error({ err, reqId: req.id, webhookId }, 'payment callback failed');
      }
      sendProblem(res, apiErr);
    }
  };

  const otherMethods: RequestHandler = (req, res) => {
    res.setHeader('Allow', 'POST');
    sendProblem(
      res,
      new ApiError(405, 'method_not_allowed', `${req.method} is not allowed here; scanners POST events`),
    );
  };

  return {
    mount(app) {
      app.post(PAYMENT_CALLBACK_PATH, receive);
      app.all(PAYMENT_CALLBACK_PATH, otherMethods);
    },
    async close() {
      // A queue passed in belongs to the caller; closing one on the shared connection leaves it open.
      if (queue !== deps.queue) await queue.close();
    },
  };
}
