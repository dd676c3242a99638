import { createServer } from 'node:net';

const LOOPBACK = '127.0.0.1';

/**
 * Asks the OS for a currently unused TCP port on 127.0.0.1. The port is released before returning,
 * so another process can still grab it: callers that bind later should retry on EADDRINUSE.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`Could not read the port the OS assigned on ${LOOPBACK}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** True when nothing is listening on 127.0.0.1:port right now (we can bind it). */
export function isPortFree(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return Promise.reject(new RangeError(`Port must be an integer from 1 to 65535, got ${port}`));
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen(port, LOOPBACK, () => {
      server.close(() => resolve(true));
    });
  });
}
