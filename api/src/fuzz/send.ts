import { type Agent, request } from 'node:http';
import type { FuzzAnswer, FuzzRequest } from './model.ts';

/** Answers are read up to this size; a bigger one is cut (the checks only need its start). */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/**
 * Sends a request with node:http rather than fetch, so the path goes out byte for byte (fetch would
 * resolve `../` and re-encode), any header value a client can send is allowed, and a body can be
 * chunked or bytes that are not UTF-8.
 */
export function sendRaw(
  origin: { host: string; port: number },
  agent: Agent,
  req: FuzzRequest,
  timeoutMs: number,
): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.chunked) headers['transfer-encoding'] = 'chunked';
    else if (req.body) headers['content-length'] = String(req.body.length);
    const outgoing = request(
      { host: origin.host, port: origin.port, method: req.method, path: req.path, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    if (req.body && req.chunked) {
      // Two chunks, so the server sees a real chunked body.
      const half = Math.floor(req.body.length / 2);
      outgoing.write(req.body.subarray(0, half));
      outgoing.end(req.body.subarray(half));
    } else {
      outgoing.end(req.body ?? undefined);
    }
  });
}

/** Runs `work` over `items` with at most `concurrency` at a time, keeping the order of results. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}
