import type { AssetRegistry } from '@amanat/core';
import type { RouteDef } from '../http/route.ts';

export const SEEDED_USERS = ['seller', 'buyer', 'stranger', 'operator', 'arbitrator'] as const;
export type SeededUser = (typeof SEEDED_USERS)[number];

/** The real state the fuzz runs against, so some fuzzed requests reach real deals and sessions. */
export interface FuzzWorld {
  routes: readonly RouteDef[];
  registry: AssetRegistry;
  tokens: Record<SeededUser, string>;
  serviceSecret: string;
  /** Seeded deals: `seller` created both; `buyer` joined and accepted the second. */
  dealIds: readonly string[];
  inviteCodes: readonly string[];
  asset: { chainId: number; token: string };
  /** EIP-55 addresses a seller or buyer could give. */
  addresses: readonly string[];
}

/** Who a request's credentials speak for, when they are ones the API accepts. */
export type Credential = { kind: 'none' } | { kind: 'session'; who: SeededUser } | { kind: 'service' };

export interface FuzzRequest {
  /** What the generator aimed at, e.g. "post /api/deals/:id/accept" or "extra /metrics". */
  target: string;
  method: string;
  /** Path and query, sent byte for byte as written. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  /** Sent with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
  /** The Authorization header's credential, when it is one the API accepts. */
  credential: Credential;
  /** The board cookie carries this user's session token. */
  boardCookie: SeededUser | null;
  /** Whether a non-empty body is certainly refused for its content type (see CONTENT_TYPES). */
  contentRefused: boolean | null;
  /** How the body was made, for the report. */
  bodyKind: string;
  /** Chooses the defect the write guard adds when the request could otherwise change something. */
  defectPick: number;
  /** What the write guard broke, if it had to. */
  defect: string | null;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}
