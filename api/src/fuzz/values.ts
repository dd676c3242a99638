/**
 * Pools of hostile values the fuzz test draws from. Raw path and query pieces are sent verbatim (the
 * client does not normalise them), so `../` and broken percent-encoding reach the server as written.
 */

/** Numbers that overflow, lose precision or are not numbers at all, as text. */
export const HUGE_NUMBER_TEXTS = [
  '1e400',
  '-1e400',
  '1e-400',
  '99999999999999999999999',
  '9007199254740993',
  '-9007199254740993',
  '18446744073709551616',
  '115792089237316195423570985008687907853269984665640564039457584007913129639936',
  '0',
  '-0',
  '-1',
  '1.5',
  '0.0000000000000000000001',
  '0x10',
  '1_000',
  'NaN',
  'Infinity',
  '-Infinity',
  '１２３',
  '9'.repeat(400),
] as const;

/** Strings that break naive code: prototype keys, control and invisible characters, injections. */
export const NASTY_STRINGS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  '\t\n',
  '\u0000',
  '\u200b',
  '\u200d\u200c\ufeff',
  '\u202eevil\u202c',
  'مرحبا بالعالم',
  'שָׁלוֹם',
  '😀',
  '👨‍👩‍👧‍👦🏳️‍🌈',
  'Z̸̡̢͍̖̈́a̴̢̛̤l̷̛̘g̵̣͠o̵̧̓',
  '\ud800',
  '\udfff\ud800',
  'null',
  'undefined',
  '[object Object]',
  "'; DROP TABLE deals; --",
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '\u0024{7*7}{{7*7}}',
  '%00%ff',
  'a'.repeat(5000),
] as const;

/** Raw path segments, sent exactly as written. */
export const RAW_SEGMENTS = [
  '%00',
  '%',
  '%%',
  '%E0%A4%A',
  '%ff%fe%fd',
  '%C0%AF',
  '%2e%2e',
  '%2E%2E%2F%2E%2E',
  '..',
  '.',
  '%2F',
  '%252F',
  '%u0041',
  '%20',
  '+',
  '*',
  ';',
  ';jsessionid=1',
  '~',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'join',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{00000000-0000-0000-0000-000000000000}',
  '00000000000000000000000000000000',
  '\u00ff\u00fe',
  'caf\u00e9',
] as const;

/** Deal states as the list filter spells them, plus near misses. */
export const STATUS_TEXTS = [
  'draft',
  'awaiting_payment',
  'funded',
  'disputed',
  'draft,funded',
  'draft,draft,draft',
  'DRAFT',
  'unknown',
  '',
  ',',
  'draft,',
  `${'draft,'.repeat(80)}draft`,
] as const;

/** Raw query fragments that are garbage on their own. */
export const RAW_QUERIES = [
  '',
  '&',
  '&&&==&',
  '=',
  '%',
  '%E0%A4%A=%E0%A4%A',
  'a',
  '?',
  '#',
  'limit',
  'limit=',
  'limit=1&limit=2',
  'status[]=draft',
  'status[0]=draft&status[1]=funded',
  'scope[a]=b',
  '__proto__[polluted]=1',
  '__proto__=1',
  'constructor[prototype][polluted]=1',
  'constructor.prototype.polluted=1',
  `${'a=1&'.repeat(1500)}a=1`,
] as const;

/** Payloads that try to pollute prototypes, as JSON text (JSON.stringify would drop `__proto__`). */
export const POLLUTION_MEMBERS = [
  '"__proto__":{"polluted":"yes","isAdmin":true}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"__proto__":null',
  '"prototype":{"polluted":"yes"}',
  '"__defineGetter__":"x"',
  '"hasOwnProperty":1',
  '"toString":"x"',
] as const;

/** JSON tokens that stand in for a field's value, as raw text so numbers keep their spelling. */
export const RAW_JSON_VALUES = [
  '1e400',
  '-1e400',
  '99999999999999999999999',
  '9007199254740993',
  '-1',
  '0',
  '-0',
  '1.5',
  '1e-400',
  '"1e400"',
  '"99999999999999999999999"',
  '"-1"',
  '"0x1"',
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '[null]',
  '""',
  '" "',
  '"\\u0000"',
  '"\\ud800"',
  '"\\u202e"',
  '"😀"',
  `"${'x'.repeat(9000)}"`,
  `${'['.repeat(500)}${']'.repeat(500)}`,
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
] as const;

/**
 * Content types, and whether the API certainly refuses a non-empty body sent with it (true), certainly
 * reads it as JSON (false), or either may happen (null).
 */
export const CONTENT_TYPES: ReadonlyArray<{ value: string | null; refused: boolean | null }> = [
  { value: 'application/json', refused: false },
  { value: 'application/json; charset=utf-8', refused: false },
  { value: 'application/json; charset=UTF-8', refused: false },
  { value: 'APPLICATION/JSON', refused: false },
  { value: 'application/json; charset=latin1', refused: true },
  { value: 'application/json; charset=nonsense', refused: true },
  { value: 'application/json; charset=utf-16', refused: null },
  { value: null, refused: true },
  { value: 'text/plain', refused: true },
  { value: 'text/html', refused: true },
  { value: 'multipart/form-data; boundary=xyz', refused: true },
  { value: 'application/x-www-form-urlencoded', refused: true },
  { value: 'application/octet-stream', refused: true },
  { value: 'application/problem+json', refused: null },
  { value: 'application/vnd.api+json', refused: null },
  { value: 'application/json;;;=;', refused: null },
  { value: '*/*', refused: null },
  { value: 'json', refused: null },
  { value: '', refused: null },
];

export const CONTENT_ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'x-garbage', 'gzip, gzip'] as const;
