import { parse as parseQuery } from 'node:querystring';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { parseAmount } from '@amanat/core';
import { MAX_BODY_BYTES, type RouteDef } from '../http/route.ts';
import type { FuzzRequest, FuzzWorld } from './model.ts';

/**
 * The fuzz must not change anything, yet it sends valid sessions so the checks behind authentication
 * run. This guard predicts, from the route's own schemas, whether a request could reach a handler that
 * writes; if so it breaks one part of the request (content type, JSON, a path parameter, the
 * Idempotency-Key, or the method) so the API must refuse it before the handler. A wrong prediction is
 * not hidden: the test compares every table and Redis key before and after.
 */

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Match {
  /** Raw (still percent-encoded) path parameters by name. */
  params: Record<string, string>;
}

const splitTarget = (path: string) => {
  const q = path.indexOf('?');
  return q < 0 ? { pathname: path, query: null } : { pathname: path.slice(0, q), query: path.slice(q + 1) };
};

/** How Express 5 matches a route path: case-insensitive, `:name` is one non-empty segment, one optional trailing slash. */
export function matchRoute(route: RouteDef, method: string, path: string): Match | null {
  const m = method.toLowerCase();
  if (m !== route.method && !(m === 'head' && route.method === 'get')) return null;
  let { pathname } = splitTarget(path);
  if (pathname.length > 1 && pathname.endsWith('/')) pathname = pathname.slice(0, -1);
  const want = route.path.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g.length === 0) return null;
      params[w.slice(1)] = g;
    } else if (w.toLowerCase() !== g.toLowerCase()) {
      return null;
    }
  }
  return { params };
}

/** The header value as the server sees it (the HTTP parser strips surrounding spaces and tabs). */
const headerValue = (req: FuzzRequest, name: string): string | undefined => {
  const value = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
  return value?.replace(/^[ \t]+|[ \t]+$/g, '');
};

type BodyVerdict = { state: 'refused' } | { state: 'unknown' } | { state: 'accepted'; value: unknown };

const DECOMPRESS: Record<string, (bytes: Buffer) => Buffer> = {
  gzip: gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/** The body as the parser reads it after its Content-Encoding; bytes that do not decompress are refused. */
function decoded(bytes: Buffer, encoding: string | undefined): Buffer | 'refused' | 'unknown' {
  const name = (encoding ?? 'identity').toLowerCase();
  if (name === 'identity') return bytes;
  const decompress = DECOMPRESS[name];
  if (!decompress) return 'unknown';
  try {
    return decompress(bytes);
  } catch {
    return 'refused';
  }
}

/** What the route's body parsing and schema make of the request body. */
function bodyVerdict(route: RouteDef, req: FuzzRequest): BodyVerdict {
  if (!route.body) return { state: 'accepted', value: undefined };
  const hasBody = req.chunked || (req.body?.length ?? 0) > 0;
  let value: unknown = {};
  if (hasBody) {
    if (req.contentRefused === true) return { state: 'refused' };
    if (req.contentRefused === null) return { state: 'unknown' };
    const bytes = decoded(req.body ?? Buffer.alloc(0), headerValue(req, 'content-encoding'));
    if (bytes === 'refused' || bytes === 'unknown') return { state: bytes };
    if (bytes.length > MAX_BODY_BYTES) return { state: 'refused' };
    // The parser decodes like iconv-lite: invalid bytes become U+FFFD and one leading BOM is dropped.
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    if (text.length > 0) {
      const first = text.trimStart()[0];
      if (first !== '{' && first !== '[') return { state: 'refused' };
      try {
        value = JSON.parse(text);
      } catch {
        return { state: 'refused' };
      }
    }
  }
  const parsed = route.body.safeParse(value ?? {});
  return parsed.success ? { state: 'accepted', value: parsed.data } : { state: 'refused' };
}

function decodedParams(match: Match): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(match.params)) {
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  return out;
}

/** True when validation certainly refuses the request before the handler (and before the idempotency gate). */
function refusedBeforeHandler(route: RouteDef, match: Match, req: FuzzRequest): boolean {
  if (bodyVerdict(route, req).state === 'refused') return true;
  if (route.params) {
    const params = decodedParams(match);
    if (params === null || !route.params.safeParse(params).success) return true;
  }
  const { query } = splitTarget(req.path);
  if (route.query && !query?.includes('#') && !route.query.safeParse(parseQuery(query ?? '')).success) {
    return true;
  }
  const key = headerValue(req, 'idempotency-key');
  return route.auth === 'user' && route.method === 'post' && !!key && !IDEMPOTENCY_KEY.test(key);
}

function credentialWorks(route: RouteDef, req: FuzzRequest): boolean {
  if (route.auth === 'public') return true;
  if (route.auth === 'service') return req.credential.kind === 'service';
  if (req.credential.kind !== 'session') return false;
  return !route.operatorOnly || req.credential.who === 'operator';
}

/**
 * Handlers known to refuse without writing once validation passed: made-up init data, an invite code
 * or deal nobody seeded, a deal the caller cannot see, a create with an amount or asset it refuses.
 * Not with a usable Idempotency-Key: the gate records even a refusal.
 */
function handlerRefusesWithoutWriting(
  route: RouteDef,
  match: Match,
  req: FuzzRequest,
  world: FuzzWorld,
): boolean {
  const key = headerValue(req, 'idempotency-key');
  if (route.auth === 'user' && key !== undefined && IDEMPOTENCY_KEY.test(key)) return false;
  const body = bodyVerdict(route, req);
  if (body.state !== 'accepted') return false;
  const value = body.value as Record<string, unknown>;
  switch (route.path) {
    case '/api/auth/telegram':
      return true;
    case '/api/deals/join':
      return !world.inviteCodes.includes(String(value.code));
    case '/api/deals': {
      const asset = value.asset as { chainId: number; token: string };
      const chain = world.registry.chain(asset.chainId);
      if (!chain || !world.registry.activeChains().some((c) => c.chainId === chain.chainId)) return true;
      const token = world.registry.findToken(asset as never);
      if (!token) return true;
      try {
        return parseAmount(value.amount, token.decimals) <= 0n;
      } catch {
        return true;
      }
    }
  }
  if (route.path.startsWith('/api/deals/:id/')) {
    const id = decodedParams(match)?.id?.toLowerCase();
    const who = req.credential.kind === 'session' ? req.credential.who : null;
    return who === 'stranger' || !world.dealIds.includes(id ?? '');
  }
  return false;
}

function mayWrite(route: RouteDef, match: Match, req: FuzzRequest, world: FuzzWorld): boolean {
  if (route.method === 'get') return false;
  if (!credentialWorks(route, req)) return false;
  if (refusedBeforeHandler(route, match, req)) return false;
  return !handlerRefusesWithoutWriting(route, match, req, world);
}

/** One defect that makes the route refuse the request before its handler. */
function breakRequest(req: FuzzRequest, route: RouteDef, match: Match, attempt: number): FuzzRequest {
  const options: string[] = [];
  if (route.body) options.push('content-type', 'truncated-json');
  if (Object.keys(match.params).length > 0) options.push('param');
  if (route.auth === 'user' && route.method === 'post') options.push('idempotency-key');
  options.push('method');
  const pick = options[(req.defectPick + attempt) % options.length];
  const headers = { ...req.headers };
  switch (pick) {
    case 'content-type':
      headers['content-type'] = 'text/plain';
      delete headers['content-encoding'];
      return {
        ...req,
        headers,
        body: req.body?.length ? req.body : Buffer.from('{}'),
        contentRefused: true,
        defect: 'content type text/plain',
      };
    case 'truncated-json':
      headers['content-type'] = 'application/json';
      delete headers['content-encoding'];
      return {
        ...req,
        headers,
        body: Buffer.from('{"'),
        chunked: false,
        contentRefused: false,
        defect: 'truncated JSON',
      };
    case 'param': {
      // Invalid percent-encoding: the router cannot decode the parameter.
      const { query } = splitTarget(req.path);
      let i = 0;
      const path = route.path.replace(/:(\w+)/g, (_m, name: string) =>
        i++ === 0 ? '%E0%A4%A' : (match.params[name] ?? 'x'),
      );
      return {
        ...req,
        path: query === null ? path : `${path}?${query}`,
        defect: 'undecodable path parameter',
      };
    }
    case 'idempotency-key':
      headers['idempotency-key'] = 'not a valid key';
      return { ...req, headers, defect: 'invalid Idempotency-Key' };
    default:
      return { ...req, method: 'PATCH', defect: 'method PATCH' };
  }
}

/** bull-board's own API retries, cleans and pauses queues; no operator credential goes near it but to look. */
function boardMayWrite(req: FuzzRequest): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  if (!req.path.toLowerCase().startsWith('/admin')) return false;
  const operatorHeader = req.credential.kind === 'session' && req.credential.who === 'operator';
  return operatorHeader || req.boardCookie === 'operator';
}

/** The request as sent: unchanged when it cannot write, otherwise with one defect that stops it. */
export function guardAgainstWrites(req: FuzzRequest, world: FuzzWorld): FuzzRequest {
  let current = req;
  if (boardMayWrite(current)) {
    const headers = { ...current.headers };
    delete headers.authorization;
    delete headers.cookie;
    current = {
      ...current,
      headers,
      credential: { kind: 'none' },
      boardCookie: null,
      defect: 'operator credential dropped',
    };
  }
  for (let attempt = 0; attempt < 8; attempt++) {
    const risky = world.routes
      .map((route) => ({ route, match: matchRoute(route, current.method, current.path) }))
      .find(({ route, match }) => match !== null && mayWrite(route, match, current, world));
    if (!risky?.match) return current;
    current = breakRequest(current, risky.route, risky.match, attempt);
  }
  throw new Error(`the write guard could not break ${current.method} ${current.path}`);
}
