import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { ApiContext } from '../context.ts';
import { ApiError, sendProblem } from '../http/problem.ts';
import type { Caller } from '../http/route.ts';
import { BOARD_PATH, createBoardAccess } from './board-access.ts';
import { acquireSystemQueues } from './queues.ts';

/**
 * What the board's page needs, and nothing from elsewhere: its own scripts, styles and a web worker
 * (syntax highlighting) from /admin/queues/static, inline style attributes, and data: images in its
 * CSS. Its Google Fonts stylesheet is left blocked on purpose (the board falls back to system fonts)
 * so opening it tells no third party that an operator is looking.
 */
export const BOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

const uiStatic = join(
  dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json')),
  'dist',
  'static',
);

const boardHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', BOARD_CSP);
  // Job data may hold personal data: no cache, shared or not, keeps a copy.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

/**
 * The only board actions that change anything: pausing and resuming, retrying failed jobs, and cleaning
 * finished ones. Everything else is refused to everyone. A job's payload is a fact its producer vouches
 * for (an outbox row committed with the deal), so nobody types one in or edits one; and removing,
 * promoting or delaying a waiting job would drop or misfire a payout or a deadline that nothing
 * re-sends (a deadline promoted early runs, finds it is not due, and is gone).
 */
const ALLOWED_ACTIONS: readonly RegExp[] = [
  /^\/api\/queues\/(pause|resume)\/?$/i,
  /^\/api\/queues\/[^/]+\/(pause|resume)\/?$/i,
  /^\/api\/queues\/[^/]+\/retry\/failed\/?$/i,
  /^\/api\/queues\/[^/]+\/clean\/(completed|failed)\/?$/i,
  /^\/api\/queues\/[^/]+\/[^/]+\/retry\/?$/i,
];

const refuseDisabledActions: RequestHandler = (req, res, next) => {
  const reads = req.method === 'GET' || req.method === 'HEAD';
  if (!reads && !ALLOWED_ACTIONS.some((path) => path.test(req.path))) {
    return sendProblem(
      res,
      new ApiError(
        403,
        'board_action_disabled',
        'Only pausing, resuming, retrying failed jobs and cleaning finished ones are allowed here',
      ),
    );
  }
  next();
};

/**
 * bull-board at /admin/queues over every queue of the system, behind the operator/break-glass gate.
 * Mounted before the per-IP limiter: the board polls its API every few seconds.
 */
export function createQueueBoard(ctx: ApiContext, authenticate: (req: Request) => Promise<Caller>) {
  const held = acquireSystemQueues(ctx);
  const access = createBoardAccess(ctx, authenticate);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: held.queues.map((queue) => new BullMQAdapter(queue)),
    // @bull-board/express 9.10.1 carries its own copy of @bull-board/api's types (9.10.1 vs 9.10.2);
    // the adapter is the same at run time, the declarations just are not the same objects.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: {
      uiConfig: {
        boardTitle: 'Amanat queues',
        environment: {
          label: ctx.config.NODE_ENV,
          color: ctx.config.NODE_ENV === 'production' ? '#b42318' : '#475467',
        },
      },
    },
  });

  return {
    mount(app: Express): void {
      const router = express.Router();
      router.use(boardHeaders);
      router.post('/session', access.startSession);
      router.delete('/session', access.endSession);
      router.use(access.gate);
      router.use(refuseDisabledActions);
      // Served here rather than by the board so the assets are cacheable by the browser only.
      router.use(
        '/static',
        express.static(uiStatic, {
          index: false,
          setHeaders: (res) => res.setHeader('Cache-Control', 'private, no-cache'),
        }),
      );
      router.use(serverAdapter.getRouter());
      app.use(BOARD_PATH, router);
    },
    close: () => held.release(),
  };
}
