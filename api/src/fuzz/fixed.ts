import type { RouteDef } from '../http/route.ts';
import type { Credential, FuzzRequest, FuzzWorld, SeededUser } from './model.ts';

/**
 * Requests sent on every run whatever the seed: ones that once got a 5xx or an answer that was not
 * problem+json, so a regression cannot hide behind the random draw, and ones that reach a handler
 * which must refuse them.
 */

const request = (
  target: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | null,
  credential: Credential = { kind: 'none' },
): FuzzRequest => ({
  target: `fixed: ${target}`,
  method,
  path,
  headers,
  body,
  chunked: false,
  credential,
  boardCookie: null,
  contentRefused: false,
  bodyKind: 'fixed',
  defectPick: 0,
  defect: null,
});

const callerFor = (route: RouteDef): SeededUser => (route.operatorOnly ? 'operator' : 'seller');

const cursorAt = (instant: string, id: string) => Buffer.from(`${instant}|${id}`).toString('base64url');

const pathOf = (route: RouteDef, world: FuzzWorld) =>
  route.path.replace(/:(\w+)/g, () => world.dealIds[0] ?? 'x');

export function fixedRequests(world: FuzzWorld): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  const auth = (route: RouteDef) => {
    const who = callerFor(route);
    return {
      headers: { authorization: `Bearer ${world.tokens[who]}` },
      credential: { kind: 'session', who } as const,
    };
  };

  for (const route of world.routes) {
    // A cursor dated before anything PostgreSQL can hold made the list queries fail (500).
    if (route.method === 'get' && route.query?.safeParse({ cursor: 'x' }).success) {
      for (const instant of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
        const { headers, credential } = auth(route);
        const cursor = cursorAt(instant, world.dealIds[0] ?? '');
        out.push(
          request(
            `${route.path} cursor ${instant}`,
            'GET',
            `${pathOf(route, world)}?cursor=${cursor}`,
            headers,
            null,
            credential,
          ),
        );
      }
    }
    // A body that does not match its Content-Encoding failed in the decompressor (500).
    if (route.body) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const { headers, credential } =
          route.auth === 'service'
            ? {
                headers: { authorization: `Bearer ${world.serviceSecret}` },
                credential: { kind: 'service' } as const,
              }
            : auth(route);
        out.push(
          request(
            `${route.path} ${encoding} garbage`,
            route.method.toUpperCase(),
            pathOf(route, world),
            { ...headers, 'content-type': 'application/json', 'content-encoding': encoding },
            Buffer.from('{"not":"compressed"}'),
            credential,
          ),
        );
      }
    }
  }

  // Bodies that pass the schema and are refused by the handler (the write guard lets exactly these by).
  const seller = { authorization: `Bearer ${world.tokens.seller}`, 'content-type': 'application/json' };
  const asSeller = { kind: 'session', who: 'seller' } as const;
  const create = (change: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({
        title: 'Camera',
        amount: '500',
        asset: world.asset,
        role: 'seller',
        address: world.addresses[0],
        ...change,
      }),
    );
  for (const amount of [
    '1e400',
    '-1',
    '0',
    '0.000',
    '1.0000000000000000000000001',
    '١٢٣',
    ' 5',
    '5 ',
    '0x10',
    'NaN',
  ]) {
    out.push(
      request(`create with amount ${amount}`, 'POST', '/api/deals', seller, create({ amount }), asSeller),
    );
  }
  out.push(
    request(
      'create on an unknown chain',
      'POST',
      '/api/deals',
      seller,
      create({ asset: { ...world.asset, chainId: 2 ** 31 - 1 } }),
      asSeller,
    ),
    request(
      'create with an unknown token',
      'POST',
      '/api/deals',
      seller,
      create({ asset: { ...world.asset, token: '0x0000000000000000000000000000000000000001' } }),
      asSeller,
    ),
    request(
      'join with an unknown code',
      'POST',
      '/api/deals/join',
      seller,
      Buffer.from(`{"code":"ABCDEFGHJK","address":"${world.addresses[1]}"}`),
      asSeller,
    ),
  );

  // Requests Node's HTTP parser refuses got a bare status line with no problem+json.
  out.push(request('non-ASCII request line', 'GET', '/api/deals/\u00ff\u00fe', {}, null));
  out.push(request('non-ASCII request line, HEAD', 'HEAD', '/api/deals/\u00ff\u00fe', {}, null));
  out.push(request('headers over the limit', 'GET', '/api/assets', { 'x-filler': 'a'.repeat(20_000) }, null));
  out.push(request('unknown method', 'BREW', '/api/assets', {}, null));
  return out;
}
