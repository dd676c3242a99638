import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { MAX_BODY_BYTES, type RouteDef } from '../http/route.ts';
import type { Credential, FuzzRequest, FuzzWorld, SeededUser } from './model.ts';
import { SEEDED_USERS } from './model.ts';
import { bodySamples, fieldPaths, paramRules, withoutField, withRawMember, withRawValue } from './shapes.ts';
import {
  CONTENT_ENCODINGS,
  CONTENT_TYPES,
  HUGE_NUMBER_TEXTS,
  NASTY_STRINGS,
  POLLUTION_MEMBERS,
  RAW_JSON_VALUES,
  RAW_QUERIES,
  RAW_SEGMENTS,
  STATUS_TEXTS,
} from './values.ts';

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'] as const;

/** Endpoints outside the route registry, and paths no route has. */
const EXTRA_PATHS = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/openapi.json',
  '/api/docs',
  '/api/ws',
  '/admin/queues',
  '/admin/queues/',
  '/admin/queues/session',
  '/admin/queues/api/queues',
  '/admin/queues/api/queues?activeQueue=notifications&status=failed&page=1&jobsPerPage=10',
  '/admin/queues/api/queues/notifications/failed/retry',
  '/admin/queues/api/queues/notifications/pause',
  '/admin/queues/api/redis/stats',
  '/admin/queues/queue/notifications',
  '/admin/queues/static/../../../package.json',
  '/admin/queues/static/%2e%2e/%2e%2e/package.json',
  '/admin/queues/%2e%2e/%2e%2e/healthz',
  '/ADMIN/QUEUES',
  '/api/payment/callback',
  '/',
  '/api',
  '/api/',
  '/favicon.ico',
  '/.env',
  '/.git/config',
  '/api/deals/../../etc/passwd',
  '/api/%2e%2e/%2e%2e/etc/passwd',
  '//api//deals',
  '/api/%64eals',
  '/API/DEALS',
  '/api/deals;a=b',
  '/api/deals%00',
  '/api/deals/%E0%A4%A',
  '/api/deals/%E0%A4%A/activity',
  '/metrics/../healthz',
  '/healthz/',
  '/healthz%2F',
  '/%ff%fe',
  '/\u00ff\u00fe',
  `/${'a'.repeat(4000)}`,
] as const;

/** Any byte a client may put in a header value or (raw) in a path, bar separators and `%`. */
const latin1 = (min: number, exclude: string) =>
  fc
    .integer({ min, max: 0xff })
    .filter((c) => c !== 0x7f && !exclude.includes(String.fromCharCode(c)))
    .map((c) => String.fromCharCode(c));
const headerText = (maxLength: number) => fc.string({ unit: latin1(0x20, ''), maxLength });
const rawPathText = (maxLength: number) => fc.string({ unit: latin1(0x21, '/?#%'), minLength: 1, maxLength });

/** Percent-encodes the UTF-8 bytes of a string except unreserved characters (lone surrogates become U+FFFD). */
export function encodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `value` once in `n` draws, `otherwise` the rest of the time. */
function oneIn<T, U>(n: number, value: fc.Arbitrary<T>, otherwise: U): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(otherwise) }, { weight: 1, arbitrary: value });
}

const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');

function segmentArb(world: FuzzWorld): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...world.dealIds) },
    { weight: 1, arbitrary: fc.constantFrom(...world.dealIds).map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...world.dealIds).map((id) => `${id}x`) },
    { weight: 4, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom(...HUGE_NUMBER_TEXTS).map(encodeText) },
    { weight: 3, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS).map(encodeText) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeText) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encodeText) },
    { weight: 1, arbitrary: rawPathText(30) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 4000 }).map((n) => 'a'.repeat(n)) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F-]{30,40}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
  );
}

/** Cursors that decode to the API's `<iso date>|<uuid>` form with dates PostgreSQL cannot hold, and junk. */
function cursorArb(world: FuzzWorld): fc.Arbitrary<string> {
  const dates = [
    '-271821-04-20T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '-000001-01-01T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '1970-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '2025-01-01',
    'yesterday',
    '',
    '1e400',
    new Date().toISOString(),
  ];
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...dates),
          fc.oneof(fc.constantFrom(...world.dealIds), fc.uuid(), fc.constantFrom('', 'x', '__proto__')),
        )
        .map(([at, id]) => Buffer.from(`${at}|${id}`).toString('base64url')),
    },
    { weight: 1, arbitrary: fc.constantFrom('!!!', '====', '%ff', 'a'.repeat(200), 'a'.repeat(201), '|') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeText) },
  );
}

function queryArb(world: FuzzWorld): fc.Arbitrary<string> {
  const key = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'limit',
        'cursor',
        'status',
        'scope',
        'secret',
        'pollSecret',
        'limit[]',
        'status[]',
        'a[b]',
        '__proto__',
        'constructor[prototype][polluted]',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeText) },
  );
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HUGE_NUMBER_TEXTS).map(encodeText) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 250 }).map(String) },
    { weight: 3, arbitrary: fc.constantFrom(...STATUS_TEXTS).map(encodeText) },
    { weight: 2, arbitrary: fc.constantFrom('mine', 'disputed', 'review', 'all', 'MINE', '') },
    { weight: 3, arbitrary: cursorArb(world) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS).map(encodeText) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeText) },
  );
  const pairs = fc
    .array(fc.tuple(key, fc.option(value, { freq: 8 })), { minLength: 1, maxLength: 5 })
    .map((list) => `?${list.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&')}`);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant('') },
    { weight: 5, arbitrary: pairs },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERIES).map((q) => `?${q}`) },
  );
}

/** Init data that looks like Telegram's but is never signed by the test bot. */
const initDataArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      id: fc.oneof(fc.integer(), fc.constantFrom(...HUGE_NUMBER_TEXTS)),
      name: fc.constantFrom(...NASTY_STRINGS),
      authDate: fc.oneof(
        fc.constant(String(Math.floor(Date.now() / 1000))),
        fc.constantFrom(...HUGE_NUMBER_TEXTS),
      ),
      hash: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.constantFrom('', 'x', 'A'.repeat(64))),
      extra: fc.constantFrom('', '&hash=0', '&auth_date=1', '&__proto__=1', '&user=x', '&&&'),
    })
    .map(
      ({ id, name, authDate, hash, extra }) =>
        `query_id=q&user=${encodeText(`{"id":${id},"first_name":${JSON.stringify(name)}}`)}` +
        `&auth_date=${encodeText(authDate)}&hash=${hash}${extra}`,
    ),
  headerText(300),
  fc.constantFrom('', 'hash=', 'user=%7B%7D', '%', '%E0%A4%A', 'a'.repeat(9000)),
);

interface AuthPick {
  authorization: string | null;
  credential: Credential;
  boardCookie: SeededUser | null;
}

/** The assist service's secret, which service routes accept. */
const serviceAuth = (world: FuzzWorld): AuthPick => ({
  authorization: `Bearer ${world.serviceSecret}`,
  credential: { kind: 'service' },
  boardCookie: null,
});

/** A working session of a seeded user: the scheme is case-insensitive and the token is trimmed. */
function sessionArb(world: FuzzWorld, only?: SeededUser): fc.Arbitrary<AuthPick> {
  return fc
    .tuple(
      only ? fc.constant(only) : fc.constantFrom(...SEEDED_USERS),
      fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer    ', 'Bearer \t'),
    )
    .map(
      ([who, scheme]): AuthPick => ({
        authorization: `${scheme}${world.tokens[who]}`,
        credential: { kind: 'session', who },
        boardCookie: null,
      }),
    );
}

function authArb(world: FuzzWorld): fc.Arbitrary<AuthPick> {
  const none: AuthPick = { authorization: null, credential: { kind: 'none' }, boardCookie: null };
  const garbage = (authorization: string): AuthPick => ({ ...none, authorization });
  const session = sessionArb(world);
  const nearToken = fc.tuple(fc.constantFrom(...SEEDED_USERS), fc.nat()).map(([who, n]) => {
    const token = world.tokens[who];
    const variants = [
      token.slice(0, -1),
      `${token}x`,
      token.toUpperCase(),
      `${token},${token}`,
      `${token.slice(0, -1)}!`,
      token.replace('ses_', ''),
    ];
    return variants[n % variants.length] as string;
  });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(none) },
    { weight: 10, arbitrary: session },
    { weight: 1, arbitrary: fc.constant(serviceAuth(world)) },
    { weight: 1, arbitrary: nearToken.map((t) => garbage(`Bearer ${t}`)) },
    { weight: 1, arbitrary: fc.stringMatching(/^ses_[A-Za-z0-9_-]{43}$/).map((t) => garbage(`Bearer ${t}`)) },
    { weight: 1, arbitrary: headerText(200).map((t) => garbage(`Bearer ${t}`)) },
    { weight: 2, arbitrary: initDataArb.map((d) => garbage(`tma ${d}`)) },
    { weight: 1, arbitrary: headerText(100).map((t) => garbage(`Basic ${b64(t)}`)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('Bearer', 'Bearer ', 'tma', 'tma ', 'Basic', 'Basic !!!', ' ', 'Digest x', 'Token abc')
        .map(garbage),
    },
    { weight: 1, arbitrary: headerText(100).map(garbage) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 7000 }).map((n) => garbage(`Bearer ${'A'.repeat(n)}`)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...SEEDED_USERS).map((who): AuthPick => ({ ...none, boardCookie: who })),
    },
  );
}

const headerNameArb = fc.oneof(
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'X-HTTP-Method-Override',
    'Range',
    'Forwarded',
    'X-Forwarded-For',
    'X-Forwarded-Proto',
    'X-Forwarded-Host',
    'If-None-Match',
    'If-Modified-Since',
    'Accept-Language',
  ),
);

function headersArb(): fc.Arbitrary<Record<string, string>> {
  const sometimes = <T>(arb: fc.Arbitrary<T>, n: number) => oneIn(n, arb, undefined);
  return fc
    .record({
      'idempotency-key': sometimes(
        fc.oneof(
          fc.uuid(),
          fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
          headerText(60),
          fc.constantFrom('a'.repeat(255), 'a'.repeat(256), 'key with spaces', '\u00e9t\u00e9', '__proto__'),
        ),
        3,
      ),
      'x-poll-secret': sometimes(fc.oneof(headerText(80), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)), 5),
      'x-request-id': sometimes(
        fc.oneof(headerText(120), fc.constantFrom('a'.repeat(101), '../x', '<x>')),
        4,
      ),
      accept: sometimes(
        fc.constantFrom(
          'application/json',
          'text/html',
          '*/*',
          'application/problem+json',
          'image/png',
          '',
          ';;q=x',
        ),
        4,
      ),
      origin: sometimes(
        fc.constantFrom('http://app.test', 'http://evil.test', 'null', '', 'http://app.test.evil'),
        5,
      ),
      'accept-encoding': sometimes(fc.constantFrom('gzip', 'br', 'identity;q=0', '*;q=0', 'x'), 6),
      junk: sometimes(fc.tuple(headerNameArb, headerText(80)), 4),
    })
    .map(({ junk, ...named }) => {
      // Null prototype, so a `__proto__` header name is a header and not a prototype assignment.
      const headers: Record<string, string> = Object.create(null);
      for (const [name, value] of Object.entries(named)) if (value !== undefined) headers[name] = value;
      if (junk) headers[junk[0].toLowerCase()] = junk[1];
      return headers;
    });
}

interface Payload {
  kind: string;
  text: Buffer | null;
}

const deepNesting = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n);

/** Realistic values for fields by name, so shaped bodies get past the checks they are not breaking. */
function hintsFor(world: FuzzWorld) {
  return {
    byName: {
      address: world.addresses[0],
      payoutAddress: world.addresses[0],
      refundAddress: world.addresses[1],
      amount: '500',
      buyerAmount: '100',
      chainId: world.asset.chainId,
      token: world.asset.token,
      code: world.inviteCodes[0],
      initData: `query_id=q&user=%7B%22id%22%3A1%7D&auth_date=1700000000&hash=${'0'.repeat(64)}`,
      title: 'Camera',
      description: 'Mint condition',
      reason: 'not as described',
      text: 'hello',
      note: 'checked',
    },
  };
}

function shapedArb(world: FuzzWorld, route: RouteDef | null): fc.Arbitrary<Payload> {
  const samples = route?.body ? bodySamples(route.body, hintsFor(world)) : [{}];
  // A join with a made-up invite code gets past validation and is refused by the handler.
  if (route?.path === '/api/deals/join') samples.push({ code: 'ABCDEFGHJK', address: world.addresses[1] });
  return fc.constantFrom(...samples).chain((sample) => {
    const paths = fieldPaths(sample);
    const pickPath = paths.length ? fc.constantFrom(...paths) : fc.constant([] as string[]);
    const text = JSON.stringify(sample);
    const payload = (kind: string, body: string): Payload => ({ kind, text: Buffer.from(body) });
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant(payload('shaped', text)) },
      {
        weight: 4,
        arbitrary: fc
          .tuple(pickPath, fc.constantFrom(...RAW_JSON_VALUES))
          .map(([p, raw]) =>
            payload(`shaped, ${p.join('.')}=${raw.slice(0, 40)}`, withRawValue(sample, p, raw)),
          ),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(pickPath, fc.constantFrom(...NASTY_STRINGS, ...HUGE_NUMBER_TEXTS))
          .map(([p, s]) =>
            payload(
              `shaped, ${p.join('.')}=${JSON.stringify(s).slice(0, 40)}`,
              withRawValue(sample, p, JSON.stringify(s)),
            ),
          ),
      },
      {
        weight: 1,
        arbitrary: pickPath.map((p) =>
          payload(`shaped without ${p.join('.')}`, p.length ? withoutField(sample, p) : text),
        ),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom(...POLLUTION_MEMBERS), fc.boolean())
          .map(([member, first]) =>
            payload(`shaped + ${member.slice(0, 30)}`, withRawMember(text, member, first)),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
          .map(([key, value]) =>
            payload(
              'shaped + unknown key',
              withRawMember(text, `${JSON.stringify(key)}:${JSON.stringify(value)}`, false),
            ),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .nat()
          .map((n) =>
            payload('shaped, truncated', text.slice(0, text.length > 1 ? n % (text.length - 1) : 0)),
          ),
      },
    );
  });
}

function payloadArb(world: FuzzWorld, route: RouteDef | null): fc.Arbitrary<Payload> {
  const of = (kind: string, text: string | Buffer | null): Payload => ({
    kind,
    text: text === null ? null : Buffer.isBuffer(text) ? text : Buffer.from(text),
  });
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant(of('none', null)) },
    { weight: 40, arbitrary: shapedArb(world, route) },
    {
      weight: 12,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => of('json value', JSON.stringify(v) ?? 'null')),
    },
    { weight: 6, arbitrary: fc.constantFrom(...POLLUTION_MEMBERS).map((m) => of('pollution', `{${m}}`)) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.integer({ min: 10, max: 30_000 }), fc.boolean())
        .map(([n, arrays]) =>
          of(
            `nested ${n}`,
            arrays
              ? deepNesting(n, '[', ']')
              : `${'{"a":'.repeat(Math.min(n, 12_000))}1${'}'.repeat(Math.min(n, 12_000))}`,
          ),
        ),
    },
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(
          [0xff, 0xfe],
          [0xc3, 0x28],
          [0xe2, 0x82],
          [0xf0, 0x28, 0x8c, 0x28],
          [0xed, 0xa0, 0x80],
          [0xc0, 0xaf],
        )
        .map((bytes) =>
          of(
            'invalid utf-8',
            Buffer.concat([Buffer.from('{"title":"'), Buffer.from(bytes), Buffer.from('"}')]),
          ),
        ),
    },
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(
          'null',
          'true',
          '1',
          '1e400',
          '"x"',
          '',
          '   ',
          '\uFEFF{}',
          '{}',
          '[]',
          '{"a":1,"a":2}',
          '{,}',
          "{'a':1}",
          'NaN',
          'a=1&b=2',
          '--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--',
          '\u0000',
        )
        .map((t) => of('literal', t)),
    },
    { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((t) => of('random text', t)) },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: MAX_BODY_BYTES + 1, max: 3 * MAX_BODY_BYTES })
        .map((n) => of(`oversized ${n}`, `{"title":"${'x'.repeat(n)}"}`)),
    },
  );
}

function bodyArb(world: FuzzWorld, route: RouteDef | null) {
  return fc
    .record({
      payload: payloadArb(world, route),
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constant(CONTENT_TYPES[0] as (typeof CONTENT_TYPES)[number]) },
        { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      encoding: oneIn(10, fc.constantFrom(...CONTENT_ENCODINGS), undefined),
      compress: fc.boolean(),
      chunked: oneIn(8, fc.constant(true), false),
    })
    .map(({ payload, type, encoding, compress, chunked }) => {
      let body = payload.text;
      let kind = payload.kind;
      // An encoding flag over a plain body is garbage to the decompressor; sometimes really compress.
      if (body && encoding && compress && encoding !== 'identity') {
        const packed = {
          gzip: gzipSync,
          'gzip, gzip': gzipSync,
          deflate: deflateSync,
          br: brotliCompressSync,
        }[encoding as 'gzip'];
        if (packed) {
          body = packed(body);
          kind += `, ${encoding}`;
        }
      }
      return { body, kind, type, encoding, chunked: chunked && body !== null };
    });
}

/** Express path of a route with each `:param` replaced by a fuzzed raw segment. */
const fillPath = (template: string, segments: readonly string[]) => {
  let i = 0;
  return template.replace(/:(\w+)/g, () => segments[i++] ?? 'x');
};

function assemble(parts: {
  target: string;
  method: string;
  path: string;
  auth: AuthPick;
  headers: Record<string, string>;
  body: {
    body: Buffer | null;
    kind: string;
    type: (typeof CONTENT_TYPES)[number];
    encoding?: string;
    chunked: boolean;
  };
  defectPick: number;
  world: FuzzWorld;
}): FuzzRequest {
  const headers: Record<string, string> = { ...parts.headers };
  if (parts.auth.authorization !== null) headers.authorization = parts.auth.authorization;
  if (parts.auth.boardCookie) headers.cookie = `amanat_board=${parts.world.tokens[parts.auth.boardCookie]}`;
  let { body } = parts;
  // Node's HTTP parser refuses a request line with bytes outside ASCII before any body, and a big body
  // it never reads turns its answer into a connection reset on the client's side.
  if (/[^\p{ASCII}]/u.test(parts.path) && (body.body?.length ?? 0) > 8192) {
    body = { ...body, body: null, kind: `${body.kind} (dropped: non-ASCII request line)`, chunked: false };
  }
  if (body.body !== null && body.type.value !== null) headers['content-type'] = body.type.value;
  if (body.body !== null && body.encoding) headers['content-encoding'] = body.encoding;
  return {
    target: parts.target,
    method: parts.method,
    path: parts.path,
    headers,
    body: body.body,
    chunked: body.chunked,
    credential: parts.auth.credential,
    boardCookie: parts.auth.boardCookie,
    contentRefused: body.type.refused,
    bodyKind: body.kind,
    defectPick: parts.defectPick,
    defect: null,
  };
}

/**
 * What one request fuzzes. `everything` breaks every part at once; the others keep the rest of the
 * request clean (the route's method, a signed-in user, a real or random deal id, a JSON body shaped
 * like the route's), so the checks behind authentication and validation are reached too.
 */
const FOCI = ['everything', 'body', 'params', 'query', 'headers'] as const;
type Focus = (typeof FOCI)[number];

/** A request aimed at one registered route: mostly its own method, fuzzed params, query, headers, body. */
function routeRequestArb(world: FuzzWorld, route: RouteDef): fc.Arbitrary<FuzzRequest> {
  const samples = route.body ? bodySamples(route.body, hintsFor(world)) : [];
  const cleanBody = samples.length
    ? fc.constantFrom(...samples).map((sample) => ({
        body: Buffer.from(JSON.stringify(sample)),
        kind: 'shaped',
        type: CONTENT_TYPES[0] as (typeof CONTENT_TYPES)[number],
        chunked: false,
      }))
    : fc.constant({
        body: null,
        kind: 'none',
        type: CONTENT_TYPES[0] as (typeof CONTENT_TYPES)[number],
        chunked: false,
      });
  // Values each parameter's own schema accepts (its pattern, or a deal id), and hostile ones.
  const rules = paramRules(route.params);
  const names = (route.path.match(/:\w+/g) ?? []).map((m) => m.slice(1));
  const cleanSegments = fc.tuple(
    ...names.map((name) => {
      const rule = rules[name] ?? {};
      if (rule.format === 'uuid') return fc.oneof(fc.constantFrom(...world.dealIds), fc.uuid());
      if (rule.pattern) return fc.stringMatching(new RegExp(rule.pattern)).map(encodeText);
      return fc.oneof(
        fc.constantFrom(...world.dealIds),
        fc.uuid(),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
      );
    }),
  );
  const segments = cleanSegments.chain((clean) =>
    fc.tuple(
      ...clean.map((value) =>
        fc.oneof({ weight: 3, arbitrary: segmentArb(world) }, { weight: 1, arbitrary: fc.constant(value) }),
      ),
    ),
  );
  // Admin routes answer only operators; their clean requests come mostly from one.
  const cleanAuth =
    route.auth === 'service'
      ? fc.constant(serviceAuth(world))
      : route.operatorOnly
        ? fc.oneof(
            { weight: 4, arbitrary: sessionArb(world, 'operator') },
            { weight: 1, arbitrary: sessionArb(world) },
          )
        : sessionArb(world);
  return fc
    .record({
      focus: fc.oneof(
        { weight: 3, arbitrary: fc.constant<Focus>('everything') },
        { weight: route.body ? 4 : 1, arbitrary: fc.constant<Focus>('body') },
        { weight: 1, arbitrary: fc.constantFrom<Focus>('params', 'query', 'headers') },
      ),
      method: fc.oneof(
        { weight: 17, arbitrary: fc.constant(route.method.toUpperCase()) },
        { weight: 3, arbitrary: fc.constantFrom(...METHODS) },
      ),
      segments,
      cleanSegments,
      upper: oneIn(15, fc.constant(true), false),
      tail: fc.oneof(
        { weight: 12, arbitrary: fc.constant('') },
        {
          weight: 1,
          arbitrary: fc.constantFrom('/', '//', '/extra', '/..', '/%2e%2e', '.json', '%00', '/__proto__'),
        },
      ),
      query: queryArb(world),
      auth: authArb(world),
      cleanAuth,
      headers: headersArb(),
      body: bodyArb(world, route),
      cleanBody,
      defectPick: fc.nat(),
    })
    .map((r) => {
      const fuzzed = (part: Focus) => r.focus === 'everything' || r.focus === part;
      const template =
        r.upper && fuzzed('params')
          ? route.path.toUpperCase().replace(/:(\w+)/g, (m) => m.toLowerCase())
          : route.path;
      const path = fuzzed('params')
        ? fillPath(template, r.segments) + r.tail
        : fillPath(template, r.cleanSegments);
      return assemble({
        target: `${route.method} ${route.path}`,
        method: r.focus === 'everything' ? r.method : route.method.toUpperCase(),
        path: path + (fuzzed('query') ? r.query : ''),
        auth: r.focus === 'everything' || r.focus === 'headers' ? r.auth : r.cleanAuth,
        headers: fuzzed('headers') ? r.headers : {},
        body: fuzzed('body') ? r.body : r.cleanBody,
        defectPick: r.defectPick,
        world,
      });
    });
}

/** A request to an endpoint outside the registry (health, metrics, docs, board, WebSocket) or to no route. */
function extraRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const randomPath = fc
    .array(
      fc.oneof(segmentArb(world), fc.constantFrom('api', 'deals', 'auth', 'admin', 'queues', 'internal')),
      {
        minLength: 1,
        maxLength: 5,
      },
    )
    .map((segments) => `/${segments.join('/')}`);
  return fc
    .record({
      method: fc.oneof(
        { weight: 3, arbitrary: fc.constant('GET') },
        { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
      ),
      path: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...EXTRA_PATHS) },
        { weight: 1, arbitrary: randomPath },
      ),
      query: queryArb(world),
      auth: authArb(world),
      headers: headersArb(),
      body: bodyArb(world, null),
      defectPick: fc.nat(),
    })
    .map(({ method, path, query, auth, headers, body, defectPick }) =>
      assemble({
        target: `extra ${path.length > 60 ? `${path.slice(0, 60)}…` : path}`,
        method,
        path: path.includes('?') ? path : path + query,
        auth,
        headers,
        body,
        defectPick,
        world,
      }),
    );
}

/** Every registered route equally often, plus about one request in six outside the registry. */
export function fuzzRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.constantFrom(...world.routes).chain((route) => routeRequestArb(world, route)),
    },
    { weight: 1, arbitrary: extraRequestArb(world) },
  );
}
