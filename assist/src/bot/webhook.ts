import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@amanat/platform';
import { z } from 'zod';
import type { IncomingUpdate } from './dispatcher.ts';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';
/** Updates are small; anything bigger is not from Telegram. */
const MAX_BODY_BYTES = 1024 * 1024;

const updateSchema = z.looseObject({ update_id: z.number().int().nonnegative() });

/** Compares hashes so neither the content nor the length of the secret shows in the timing. */
export function secretMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage & { body?: unknown }): Promise<unknown> {
  // A framework may have parsed the body already (express.json()).
  if (req.body !== undefined && req.body !== null && !Buffer.isBuffer(req.body)) {
    return typeof req.body === 'string' ? JSON.parse(req.body) : req.body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (Buffer.isBuffer(req.body)) chunks.push(req.body);
  else {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new Error('body too large');
      chunks.push(chunk as Buffer);
    }
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const answer = (res: ServerResponse, status: number) => {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: status === 200 }));
};

/**
 * Takes updates Telegram POSTs to /telegram/<secret path>. It answers as soon as the update is accepted
 * and handles it afterwards: Telegram resends an update whose request is slow, and an assistant answer
 * can take longer than Telegram waits.
 */
export function createWebhookHandler(opts: {
  secret: string;
  logger: Logger;
  accepting: () => boolean;
  /** True while the bot handles as many updates as it takes at once. */
  full: () => boolean;
  dispatch: (update: IncomingUpdate) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') return answer(res, 405);
    if (!secretMatches(req.headers[SECRET_HEADER], opts.secret)) {
      opts.logger.warn('refused a webhook request without the right secret token');
      return answer(res, 401);
    }
    // Shutting down: Telegram keeps the update and sends it again (to this or another replica).
    if (!opts.accepting()) return answer(res, 503);
    readBody(req).then(
      (body) => {
        const update = updateSchema.safeParse(body);
        if (!update.success) return answer(res, 400);
        // Busy: Telegram keeps the update and sends it again later, as polling would wait before fetching.
        if (opts.full()) return answer(res, 503);
        answer(res, 200);
        opts.dispatch(update.data as IncomingUpdate);
      },
      () => answer(res, 400),
    );
  };
}
