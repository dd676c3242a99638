import type { ApiContext } from '../context.ts';
import type { RouteDef } from '../http/route.ts';

// PLACEHOLDER — replaced by the operator review work.
export function reviewRoutes(_ctx: ApiContext): RouteDef[] {
  return [];
}
