import type { Express, Request } from 'express';
import type { ApiContext } from '../context.ts';
import type { Caller } from '../http/route.ts';

// PLACEHOLDER — replaced by the bull-board work.
export function createQueueBoard(_ctx: ApiContext, _authenticate: (req: Request) => Promise<Caller>) {
  return { mount: (_app: Express) => {}, close: async () => {} };
}
