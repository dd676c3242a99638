// The app's production server: SvelteKit's adapter-node handler behind a plain Node HTTP server, with a
// health endpoint, JSON logs and a graceful stop, like every other Amanat process.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { appConfigSchema, loadConfig } from '@amanat/core';
import { createLogger, onShutdown, startupOrExit } from '@amanat/platform';

const config = startupOrExit(() => loadConfig('app', appConfigSchema, process.env));
const logger = createLogger('app', config.LOG_LEVEL);

const handlerFile = join(import.meta.dirname, 'build', 'handler.js');
if (!existsSync(handlerFile)) {
  console.error(
    'app: no production build in app/build; run `npm run build -w app` (npm start does it for you)',
  );
  process.exit(1);
}
type Handler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;
const { handler } = (await import(handlerFile)) as { handler: Handler };

const server = createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status: 'ok' }));
    return;
  }
  // The browser checks for a new app version by fetching the worker script: never from a cache.
  if (req.url === '/service-worker.js') res.setHeader('cache-control', 'no-cache');
  const started = performance.now();
  res.once('finish', () => {
    if (res.statusCode >= 500) {
      logger.error({ method: req.method, url: req.url, status: res.statusCode }, 'request failed');
    } else {
      logger.debug(
        {
          method: req.method,
          url: req.url,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    }
  });
  handler(req, res, () => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not found');
  });
});
server.keepAliveTimeout = 65_000;

server.listen(config.APP_PORT, config.APP_HOST, () => {
  logger.info({ port: config.APP_PORT, host: config.APP_HOST, api: config.PUBLIC_API_URL }, 'app listening');
});

onShutdown(logger, [
  [
    'http',
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  ],
]);
