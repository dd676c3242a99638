// A client for the routing test: it reaches test domains (app.amanat.test, …) on 127.0.0.1, as DNS would
// send them to the server, with the real host name in the URL, the Host header and the TLS SNI, and trusts
// only the root certificate of the Caddy under test.

import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/** Every name resolves to loopback: no /etc/hosts edits, no DNS. */
export const resolveToLoopback: LookupFunction = (_hostname, options, callback) => {
  // Node asks for every address (options.all) when it may try several; the callback's shape follows.
  const answer = callback as (err: null, address: string | LookupAddress[], family?: number) => void;
  if (options.all) answer(null, [{ address: '127.0.0.1', family: 4 }]);
  else answer(null, '127.0.0.1', 4);
};

export interface EdgeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header name (lower case) → every value sent under it, to see duplicates Node would join. */
  all: Map<string, string[]>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

export interface EdgeRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent in one piece with its Content-Length. */
  body?: string | Buffer;
  /** Sent in pieces with Transfer-Encoding: chunked (no declared length). */
  chunks?: Buffer[];
}

export interface EdgeClient {
  /** For WebSocket clients and anything else that takes an agent. */
  agent: Agent;
  request(url: string, init?: EdgeRequest): Promise<EdgeResponse>;
  close(): void;
}

export function edgeClient(ca: Buffer): EdgeClient {
  // No keep-alive: every request is a fresh connection, as a new visitor's would be.
  const agent = new Agent({ ca, lookup: resolveToLoopback, keepAlive: false });
  const plainLookup = { lookup: resolveToLoopback };
  return {
    agent,
    request(url, init = {}) {
      const secure = url.startsWith('https:');
      return new Promise((resolve, reject) => {
        const options = { method: init.method ?? 'GET', headers: init.headers ?? {} };
        const req = secure
          ? httpsRequest(url, { ...options, agent })
          : httpRequest(url, { ...options, ...plainLookup, agent: false });
        req.on('error', reject);
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const all = new Map<string, string[]>();
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              const name = String(res.rawHeaders[i]).toLowerCase();
              all.set(name, [...(all.get(name) ?? []), String(res.rawHeaders[i + 1])]);
            }
            const body = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              all,
              body,
              text: () => body.toString('utf8'),
              json: () => JSON.parse(body.toString('utf8')),
            });
          });
        });
        if (init.chunks) {
          for (const chunk of init.chunks) req.write(chunk);
          req.end();
        } else {
          req.end(init.body);
        }
      });
    },
    close: () => agent.destroy(),
  };
}
