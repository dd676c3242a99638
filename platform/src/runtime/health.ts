import { createServer, type Server } from 'node:http';

export type ReadinessCheck = () => Promise<void>;

/**
 * A small HTTP server for processes that serve nothing else (workers, scanner): `/healthz` says the
 * process is alive, `/readyz` runs every dependency check and answers 503 naming the failing ones.
 */
export function startHealthServer(opts: {
  port: number;
  host?: string;
  checks: Record<string, ReadinessCheck>;
}): Promise<Server> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/healthz') return send(200, { status: 'ok' });
    if (req.url === '/readyz') {
      const results = await Promise.all(
        Object.entries(opts.checks).map(async ([name, check]) => {
          try {
            await check();
            return [name, 'ok'] as const;
          } catch {
            return [name, 'failing'] as const;
          }
        }),
      );
      const ok = results.every(([, r]) => r === 'ok');
      return send(ok ? 200 : 503, {
        status: ok ? 'ready' : 'not_ready',
        checks: Object.fromEntries(results),
      });
    }
    send(404, { status: 'not_found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(server));
  });
}
