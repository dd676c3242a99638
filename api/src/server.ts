import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { type ApiConfig, registryFromConfig } from '@amanat/core';
import { DealStore, getDealWithPayments, type Logger, outboxWaker, type Pool } from '@amanat/platform';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { pinoHttp } from 'pino-http';
import proxyaddr from 'proxy-addr';
import { createQueueBoard } from './admin/queue-board.ts';
import { reviewRoutes } from './admin/review-routes.ts';
import { assetRoutes } from './assets/routes.ts';
import { type Authenticator, createAuthenticator, createServiceAuthenticator } from './auth/authenticate.ts';
import { loginLinkRoutes } from './auth/login-link.ts';
import { authRoutes } from './auth/routes.ts';
import { SessionStore } from './auth/sessions.ts';
import { secretKeyFor } from './auth/telegram-init-data.ts';
import type { ApiContext } from './context.ts';
import { depositAddressDeriver } from './deals/deposit-address.ts';
import { inviteRoutes } from './deals/invite-routes.ts';
import { DealReadCache } from './deals/read-cache.ts';
import { dealRoutes } from './deals/routes.ts';
import { answerClientError } from './http/client-error.ts';
import { createIdempotencyGate, pruneIdempotencyKeys } from './http/idempotency.ts';
import { createMetrics } from './http/metrics.ts';
import { buildOpenApi, renderDocsPage } from './http/openapi.ts';
import { ApiError, sendProblem, toApiError } from './http/problem.ts';
import { createRateLimits } from './http/rate-limit.ts';
import { mountRoutes, type RouteDef } from './http/route.ts';
import { createLiveHub, liveOpenApiPaths } from './live/hub.ts';
import { createPaymentCallback, PAYMENT_CALLBACK_PATH } from './payments/callback.ts';
import { paymentCallbackOpenApi } from './payments/openapi.ts';

/** The payment callback reads its raw body and is gated by its signature, not by per-IP limits. */
export { PAYMENT_CALLBACK_PATH };

const UNLIMITED_PATHS = [PAYMENT_CALLBACK_PATH, '/healthz', '/readyz', '/metrics'];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export interface ApiServer {
  app: Express;
  ctx: ApiContext;
  routes: RouteDef[];
  auth: Authenticator;
  /** Serves HTTP and the WebSocket on a listening server. */
  attach(server: Server): void;
  /** Closes WebSocket clients with a reconnect hint and stops background work; pools stay open. */
  close(): Promise<void>;
}

/**
 * Builds the API: every route, the WebSocket hub, bull-board and metrics, on the connections given.
 * main.ts owns the process (listening, signals, pools); tests build as many of these as they like.
 */
export function createApiServer(deps: {
  config: ApiConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
}): ApiServer {
  const { config, logger, pool, redis } = deps;
  const registry = registryFromConfig('api', config);
  const wakeRelay = outboxWaker(redis, config.REDIS_PREFIX);
  const dealReads = new DealReadCache({
    load: (id) => getDealWithPayments(pool, id),
    ttlMs: config.DEAL_READ_CACHE_MS,
  });
  const ctx: ApiContext = {
    config,
    logger,
    pool,
    redis,
    registry,
    store: new DealStore({
      pool,
      storageMode: config.STORAGE_MODE,
      onCommitted: (dealId) => {
        wakeRelay();
        dealReads.invalidate(dealId);
      },
    }),
    sessions: new SessionStore({ redis, prefix: config.REDIS_PREFIX, ttlSec: config.SESSION_TTL_SEC }),
    staff: { operators: config.OPERATOR_TELEGRAM_IDS, arbitrators: config.ARBITRATOR_TELEGRAM_IDS },
    telegramSecretKey: secretKeyFor(config.TELEGRAM_BOT_TOKEN),
    deriveDepositAddress: depositAddressDeriver(config.DEPOSIT_XPUB),
    dealReads,
  };
  void ctx.dealReads.follow({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX, logger });

  const limits = createRateLimits({
    redis,
    prefix: config.REDIS_PREFIX,
    perIpPerMinute: config.RATE_LIMIT_IP_PER_MIN,
    perUserPerMinute: config.RATE_LIMIT_USER_PER_MIN,
    exemptPaths: UNLIMITED_PATHS,
  });
  const auth = createAuthenticator({
    pool,
    sessions: ctx.sessions,
    limits,
    staff: ctx.staff,
    secretKey: ctx.telegramSecretKey,
    maxAgeSec: config.TELEGRAM_AUTH_MAX_AGE,
    storageMode: config.STORAGE_MODE,
    serviceSecret: config.ASSIST_SERVICE_SECRET,
  });
  const metrics = createMetrics(ctx);
  const live = createLiveHub(ctx, auth.authenticate, {
    // The client's address as Express sees it (trust proxy applies); the app exists by the first upgrade.
    admitUpgrade: (req) => limits.allowIp(proxyaddr(req, app.get('trust proxy fn'))),
  });
  const board = createQueueBoard(ctx, auth.authenticate);
  const paymentCallback = createPaymentCallback({
    ctx,
    onRefused: () => metrics.callbackVerificationFailures.inc(),
  });

  const routes: RouteDef[] = [
    ...authRoutes(ctx),
    ...loginLinkRoutes(ctx),
    ...assetRoutes(ctx),
    ...dealRoutes(ctx),
    ...inviteRoutes(ctx),
    ...reviewRoutes(ctx),
  ];

  const app = express();
  app.disable('x-powered-by');
  // Answers are per caller and change with every deal event; an ETag would hash each body for nothing.
  app.set('etag', false);
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      // Request lines carry only the fields the serializers below pick, none of them secret, so they skip
      // the redaction pass (a fifth of a request's logging cost); errors go through `logger`, which redacts.
      logger: logger.child({}, { redact: [] }),
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Only what identifies the request: headers and query strings may carry tokens or init data.
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, path: String(req.url).split('?')[0] }),
        res: (res) => ({ status: res.statusCode }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      autoLogging: {
        ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics',
      },
    }),
  );
  app.use(metrics.middleware);
  app.use(
    helmet({
      // The JSON API and its self-contained docs need nothing from elsewhere.
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"] },
      },
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      pool.query('SELECT 1').then(
        () => ['postgres', 'ok'] as const,
        () => ['postgres', 'failing'] as const,
      ),
      redis.ping().then(
        () => ['redis', 'ok'] as const,
        () => ['redis', 'failing'] as const,
      ),
    ]);
    const ready = checks.every(([, state]) => state === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(checks) });
  });
  app.get('/metrics', metrics.handler);

  // The board is outside CORS: no other origin, not even the app's, may read it with an operator's
  // credentials. So is the payment callback: it is for servers, signed, and answers no preflight.
  board.mount(app);
  paymentCallback.mount(app);
  app.use(
    cors({
      // A list, not a string: a string is sent to every origin; a list is echoed only to a match.
      origin: [config.APP_ORIGIN],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-Poll-Secret'],
      exposedHeaders: ['Retry-After', 'Idempotent-Replayed', 'X-Request-Id', 'RateLimit-Remaining'],
      maxAge: 600,
    }),
  );
  const logUnexpected = (err: unknown, req: express.Request) => {
    logger.error({ err, reqId: req.id, method: req.method, path: req.path }, 'request failed');
  };
  const router = express.Router();
  mountRoutes(router, routes, {
    logUnexpected,
    admit: auth.admit,
    authenticateService: createServiceAuthenticator(config.ASSIST_SERVICE_SECRET),
    limitIp: limits.limitIp,
    idempotency: createIdempotencyGate(pool),
  });
  app.use(router);
  // Routes in the registry count their own requests (with the session, in one round trip); this covers
  // everything else, such as the reference and unknown paths.
  app.use(limits.perIp);

  const doc = buildOpenApi(routes, {
    title: 'Amanat API',
    version: '1.0.0',
    description:
      'Escrow for deals between strangers. Sign in with Telegram (POST /api/auth/telegram, or ' +
      '`Authorization: tma <init data>` on any request), or through the bot from a browser (login link). ' +
      'Amounts are base units as decimal strings. Errors are application/problem+json with a stable `code`.\n' +
      'Live updates: WebSocket at /api/ws (see the /api/ws path below).\n' +
      'Chain scanners post signed payment events to POST /api/payment/callback (the `paymentEvent` webhook).',
    paths: { ...liveOpenApiPaths, ...paymentCallbackOpenApi.paths },
    webhooks: paymentCallbackOpenApi.webhooks,
  });
  const docsPage = renderDocsPage(doc);
  app.get('/api/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.get('/api/docs', (_req, res) => {
    res.type('html').send(docsPage);
  });

  app.use((req, res) => {
    sendProblem(
      res,
      new ApiError(404, 'route_not_found', `No route ${req.method} ${req.path.slice(0, 200)}`),
    );
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const apiErr = toApiError(err);
    if (apiErr.status >= 500) logUnexpected(err, req);
    sendProblem(res, apiErr);
  };
  app.use(onError);

  const prune = setInterval(
    () => {
      pruneIdempotencyKeys(pool).catch((err) => logger.warn({ err }, 'idempotency key pruning failed'));
    },
    60 * 60 * 1000,
  );
  prune.unref();

  return {
    app,
    ctx,
    routes,
    auth,
    attach: (server) => {
      server.on('clientError', answerClientError);
      live.attach(server);
    },
    close: async () => {
      clearInterval(prune);
      await Promise.all([
        live.close(),
        board.close(),
        metrics.close(),
        ctx.dealReads.close(),
        paymentCallback.close(),
      ]);
    },
  };
}
