import type { Server } from 'node:http';
import type { Request } from 'express';
import type { ApiContext } from '../context.ts';
import type { Caller } from '../http/route.ts';

// PLACEHOLDER — replaced by the WebSocket work.
export const liveOpenApiPaths: Record<string, unknown> = {};
export function createLiveHub(_ctx: ApiContext, _authenticate: (req: Request) => Promise<Caller>) {
  return { attach: (_server: Server) => {}, close: async () => {} };
}
