import type { ApiContext } from '../context.ts';
import type { RouteDef } from '../http/route.ts';

// PLACEHOLDER — replaced by the login-link work.
export function loginLinkRoutes(_ctx: ApiContext): RouteDef[] {
  return [];
}
