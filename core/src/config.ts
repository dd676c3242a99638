import { z } from 'zod';
import { addressSchema } from './address.ts';
import { type AssetRegistry, createRegistry, type RegistryConfig } from './assets.ts';
import { DomainError } from './errors.ts';

/**
 * Configuration schemas for each service. A process parses its environment once at start and, if
 * anything is missing or wrong, stops with one message naming every variable to fix.
 */

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const url = (protocols: string[]) =>
  z.url().refine((u) => protocols.some((p) => u.startsWith(`${p}:`)), {
    message: `must start with ${protocols.map((p) => `${p}:`).join(' or ')}`,
  });
const json = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.infer<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
      }
      return z.NEVER;
    }
    return parsed.data;
  });

export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  /** PostgreSQL schema holding the tables (tests run several deployments in one database). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier')
    .default('public'),
  REDIS_URL: url(['redis', 'rediss']),
  /** Namespaces every Redis key and queue, so deployments and tests can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'letters, digits, _ and - only')
    .default('amanat'),
  STORAGE_MODE: z.enum(['pg_only', 'dual']).default('pg_only'),
  MONGO_URL: url(['mongodb', 'mongodb+srv']).optional(),
  MONGO_DB: z.string().min(1).default('amanat_legacy'),
});

/**
 * What a workers process can run; `WORKERS_ROLES` picks some, or `all`. `all` leaves out `payouts`: the
 * spending keys go only to a process that names the role (the payout signer, or `all,payouts` locally).
 */
export const WORKER_ROLES = [
  'payments',
  'deadlines',
  'maintenance',
  'notifications',
  'llm',
  'mirror',
  'outbox',
  'checkpoints',
  'payouts',
] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const roleList = (text: string): string[] =>
  text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/** Whether a raw environment runs the payout signer: only when WORKERS_ROLES names it. */
const runsPayouts = (env: Record<string, string>): boolean =>
  roleList(env.WORKERS_ROLES ?? 'all').includes('payouts');

/** The payout signer's secrets come from a file or the environment: exactly one of the two, and only there. */
const payoutSecret =
  (name: string, what: string) =>
  (env: Record<string, string>): string | null => {
    const file = env[`${name}_FILE`];
    const inline = env[name];
    if (!runsPayouts(env))
      return file || inline
        ? `${name}: only the payouts role holds ${what}; unset ${name} and ${name}_FILE where WORKERS_ROLES excludes payouts`
        : null;
    if (file && inline) return `${name}: set ${name}_FILE or ${name}, not both`;
    if (!file && !inline)
      return `${name}: ${name}_FILE or ${name} is required when WORKERS_ROLES includes payouts`;
    return null;
  };

/**
 * Rules that span variables. They run on the raw environment next to the schema, so a message lists
 * them together with every other problem instead of only after the rest is fixed.
 */
const CROSS_CHECKS: Array<(env: Record<string, string>) => string | null> = [
  (env) =>
    env.STORAGE_MODE === 'dual' && !env.MONGO_URL ? 'MONGO_URL: is required when STORAGE_MODE=dual' : null,
  // The development sign-in mints sessions for any Telegram id: it must never run in production.
  (env) =>
    env.DEV_SIGN_IN === 'true' && env.NODE_ENV === 'production'
      ? 'DEV_SIGN_IN: cannot be true when NODE_ENV=production'
      : null,
  (env) =>
    env.TELEGRAM_BOT_TOKEN && !env.APP_ORIGIN
      ? 'APP_ORIGIN: is required when TELEGRAM_BOT_TOKEN is set (buttons open the app)'
      : null,
  (env) =>
    env.TELEGRAM_WEBHOOK_URL && !(env.TELEGRAM_WEBHOOK_PATH && env.TELEGRAM_WEBHOOK_SECRET)
      ? 'TELEGRAM_WEBHOOK_SECRET: TELEGRAM_WEBHOOK_PATH and TELEGRAM_WEBHOOK_SECRET are required with TELEGRAM_WEBHOOK_URL'
      : null,
  // Production bots take updates by webhook: long polling from several replicas would fight over them.
  (env) =>
    env.NODE_ENV === 'production' && env.TELEGRAM_BOT_TOKEN && !env.TELEGRAM_WEBHOOK_URL
      ? 'TELEGRAM_WEBHOOK_URL: is required for the bot when NODE_ENV=production'
      : null,
  (env) =>
    Boolean(env.ADMIN_USER) !== Boolean(env.ADMIN_PASSWORD_HASH)
      ? 'ADMIN_PASSWORD_HASH: ADMIN_USER and ADMIN_PASSWORD_HASH are set together or not at all'
      : null,
  // The payout signer (workers with the payouts role) is the only process holding spending keys.
  payoutSecret('PAYOUT_MNEMONIC', 'the deposit mnemonic'),
  payoutSecret('GAS_TANK_KEY', 'the gas-tank key'),
  (env) =>
    runsPayouts(env) && !env.FEE_ADDRESS
      ? 'FEE_ADDRESS: is required when WORKERS_ROLES includes payouts'
      : null,
  // Checked against the mnemonic at start, so a signer never pays from addresses the API does not hand out.
  (env) =>
    runsPayouts(env) && !env.DEPOSIT_XPUB
      ? 'DEPOSIT_XPUB: is required when WORKERS_ROLES includes payouts'
      : null,
];

/** A Standard Webhooks secret, shared by the scanner (signs) and the API (verifies). */
const webhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/=]{24,}$/, 'must be whsec_ followed by base64');

const telegramBotToken = z
  .string()
  .regex(/^\d{5,12}:[A-Za-z0-9_-]{30,}$/, 'must look like 123456:ABC... (from @BotFather)');

/** Comma-separated Telegram user ids, e.g. "111,222"; empty means nobody. */
const telegramIdList = z
  .string()
  .regex(/^\s*(\d{1,20}\s*(,\s*\d{1,20}\s*)*)?$/, 'must be Telegram user ids separated by commas')
  .transform(
    (text) =>
      new Set(
        text
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
          .map(BigInt),
      ),
  )
  .default(new Set<bigint>());

/** Bot API secret tokens (webhook header and path): what Telegram allows in `secret_token`. */
const webhookToken = z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16-256 letters, digits, _ or -');

/** Where the bot and the notification worker reach the Bot API (a local Bot API server, or a test double). */
const telegramApiRoot = url(['http', 'https'])
  .transform((u) => u.replace(/\/+$/, ''))
  .default('https://api.telegram.org');

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .default(false);

const seconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Account-level extended public key (m/44'/60'/0'); deposit addresses are its children 0/i. */
const depositXpub = z.string().regex(/^xpub[1-9A-HJ-NP-Za-km-z]{100,112}$/, "an xpub (m/44'/60'/0')");

const workerRoles = z
  .string()
  .default('all')
  .transform((text, ctx): ReadonlySet<WorkerRole> => {
    const roles = roleList(text);
    if (roles.length === 0) {
      ctx.addIssue({ code: 'custom', message: `must be 'all' or some of ${WORKER_ROLES.join(', ')}` });
      return z.NEVER;
    }
    const unknown = roles.filter((r) => r !== 'all' && !(WORKER_ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown role ${unknown.map((r) => `'${r}'`).join(', ')}; roles: all, ${WORKER_ROLES.join(', ')}`,
      });
      return z.NEVER;
    }
    const named = roles.filter((r): r is WorkerRole => r !== 'all');
    return new Set(
      roles.includes('all') ? [...WORKER_ROLES.filter((r) => r !== 'payouts'), ...named] : named,
    );
  });

/**
 * `PAYOUT_APPROVAL_THRESHOLD`: per asset, the largest payout leg the signer sends on its own, as JSON
 * {"<chainId>:<token address | native>": "<base units>"}; a larger leg waits for an operator. Keys are
 * normalised to `payoutApprovalKey`; amounts are decimal strings, since JSON numbers lose base units.
 */
const APPROVAL_UNITS = 'must be base units as a decimal string, e.g. "1000000000"';
const payoutApprovalThreshold = json(
  z.record(z.string(), z.string({ error: APPROVAL_UNITS }).regex(/^\d{1,78}$/, APPROVAL_UNITS)),
).transform((thresholds, ctx): ReadonlyMap<string, bigint> => {
  const byKey = new Map<string, bigint>();
  for (const [key, units] of Object.entries(thresholds)) {
    const match = /^(\d{1,10}):(native|0x[0-9a-fA-F]{40})$/.exec(key);
    if (!match) {
      ctx.addIssue({
        code: 'custom',
        message: `${key}: keys are "<chainId>:<token address>" or "<chainId>:native", e.g. "1:0xdac17f958d2ee523a2206206994597c13d831ec7"`,
      });
      return z.NEVER;
    }
    const normal = payoutApprovalKey(Number(match[1]), match[2] as string);
    if (byKey.has(normal)) {
      ctx.addIssue({ code: 'custom', message: `${key}: the same asset is listed twice` });
      return z.NEVER;
    }
    byKey.set(normal, BigInt(units));
  }
  return byKey;
});

/** The key of an asset in PAYOUT_APPROVAL_THRESHOLD: `<chainId>:<token lower-case | native>`. */
export const payoutApprovalKey = (chainId: number, token: string): string =>
  `${chainId}:${token === 'native' ? 'native' : token.toLowerCase()}`;

/**
 * Whether a payout of `amount` in this asset must wait for an operator: it is above the asset's threshold.
 * Assets the configuration does not name (or no configuration) need no approval.
 */
export function needsPayoutApproval(
  thresholds: ReadonlyMap<string, bigint> | undefined,
  asset: { chainId: number; token: string },
  amount: bigint,
): boolean {
  const threshold = thresholds?.get(payoutApprovalKey(asset.chainId, asset.token));
  return threshold !== undefined && amount > threshold;
}

export const registryConfigEnv = {
  /** Operator overrides of the asset registry, as JSON (see core/src/assets.ts); checked by createRegistry. */
  ASSET_REGISTRY: json(z.record(z.string(), z.unknown())).optional(),
  /** RPC endpoints per chain id, as JSON: {"1": ["https://a", "https://b"]}. A chain is active when it has any. */
  RPC_URLS: json(z.record(z.string().regex(/^\d+$/), z.array(z.url()).min(1))).optional(),
};

export const apiConfigSchema = baseConfigSchema.extend({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(8080),
  /** Express `trust proxy`: which hops may set X-Forwarded-For (the client IP that rate limits key on). */
  TRUST_PROXY: z
    .string()
    .default('loopback')
    .transform((v): boolean | number | string =>
      // Express reads a number as a hop count, but the string '1' as the address 0.0.0.1.
      /^\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v,
    ),
  /** The app's origin: the only one CORS admits, and the base of web invite links. */
  APP_ORIGIN: url(['http', 'https']).transform((u) => new URL(u).origin),
  TELEGRAM_BOT_TOKEN: telegramBotToken,
  /** The bot's username without @, for t.me links. */
  TELEGRAM_BOT_USERNAME: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/, 'a Telegram username without @'),
  /** The Mini App's short name at @BotFather, for t.me/<bot>/<app> links. */
  TELEGRAM_APP_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,30}$/, 'letters, digits and _ only')
    .default('app'),
  /** Oldest Telegram init data (auth_date) accepted, in seconds. */
  TELEGRAM_AUTH_MAX_AGE: seconds(86_400, 60, 30 * 86_400),
  SESSION_TTL_SEC: seconds(7 * 86_400, 300, 90 * 86_400),
  /** Development sign-in without a real bot; refused when NODE_ENV=production. */
  DEV_SIGN_IN: bool,
  /** Account-level extended public key (m/44'/60'/0'); deposit addresses are its children 0/i. */
  DEPOSIT_XPUB: depositXpub,
  OPERATOR_TELEGRAM_IDS: telegramIdList,
  ARBITRATOR_TELEGRAM_IDS: telegramIdList,
  /** Break-glass basic auth for bull-board; the hash comes from `npm run admin:hash`. */
  ADMIN_USER: z.string().min(1).max(100).optional(),
  ADMIN_PASSWORD_HASH: z
    .string()
    .regex(
      /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/,
      'must come from npm run admin:hash',
    )
    .optional(),
  /** Shared secret the assist service presents on the API's internal endpoints. */
  ASSIST_SERVICE_SECRET: z.string().min(32, 'must be at least 32 characters'),
  /**
   * How long a process may reuse what it read for GET /api/deals/:id, in ms (0: never). Changes drop
   * the entry as soon as their deal event arrives; this bounds staleness when events stop.
   */
  DEAL_READ_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
  /** The platform fee in basis points, fixed into each deal at creation (the asset's minimum applies). */
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(2000).default(100),
  /** Requests per minute per client IP, and per signed-in user. */
  RATE_LIMIT_IP_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(600),
  RATE_LIMIT_USER_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(300),
  /** Verifies the scanner's signed payment callbacks (POST /api/payment/callback). */
  PAYMENT_WEBHOOK_SECRET: webhookSecret,
  ...registryConfigEnv,
});
export type ApiConfig = z.infer<typeof apiConfigSchema>;

export const workersConfigSchema = baseConfigSchema.extend({
  WORKERS_HEALTH_PORT: port(8070),
  /** What this process runs: `all`, or a comma list of WORKER_ROLES. The payout signer runs `payouts`. */
  WORKERS_ROLES: workerRoles,
  /** The payouts role's deposit HD mnemonic: a file holding it (production), or the words (development). */
  PAYOUT_MNEMONIC_FILE: z.string().min(1).optional(),
  PAYOUT_MNEMONIC: z.string().min(1).optional(),
  /** The payouts role's gas-tank private key (0x + 64 hex): a file holding it, or the key itself. */
  GAS_TANK_KEY_FILE: z.string().min(1).optional(),
  GAS_TANK_KEY: z
    .string()
    .regex(/^\s*0x[0-9a-fA-F]{64}\s*$/, 'must be 0x followed by 64 hex digits')
    .optional(),
  /** Where the platform fee legs are paid (the payouts role). */
  FEE_ADDRESS: addressSchema.optional(),
  /**
   * The payouts role: the most a replacement of a stuck payout transaction bids per gas, in gwei (any
   * chain). At the cap a stuck transaction is no longer replaced; it waits for fees to fall.
   */
  PAYOUT_MAX_FEE_PER_GAS_GWEI: z.coerce.number().positive().max(1_000_000).default(500),
  /** The payouts role checks its mnemonic derives this key, the one the API hands deposit addresses from. */
  DEPOSIT_XPUB: depositXpub.optional(),
  /**
   * The payouts role: per asset, payout legs above this many base units wait for an operator's approval
   * (POST /api/admin/payouts/:id/approve). JSON {"<chainId>:<token address | native>": "<base units>"};
   * unset, or an asset not listed: no approval needed.
   */
  PAYOUT_APPROVAL_THRESHOLD: payoutApprovalThreshold.optional(),
  /** Ed25519 key (base64 seed or PKCS#8 PEM) that signs activity-log checkpoints; kept out of the database. */
  CHECKPOINT_SIGNING_KEY: z.string().min(1),
  /** Append-only file the signed checkpoints go to. */
  CHECKPOINT_FILE: z.string().min(1).default('.data/checkpoints.jsonl'),
  CHECKPOINT_INTERVAL_SEC: z.coerce.number().int().min(5).max(86_400).default(300),
  /** How often the outbox relay looks for undelivered rows when no notification woke it. */
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Senders whose money is never counted (sanctions, known theft): comma-separated addresses. */
  PAYMENT_SENDER_DENYLIST: z
    .string()
    .regex(
      /^\s*(0x[0-9a-fA-F]{40}\s*(,\s*0x[0-9a-fA-F]{40}\s*)*)?$/,
      'must be 0x addresses separated by commas',
    )
    .transform(
      (text) =>
        new Set(
          text
            .split(',')
            .map((a) => a.trim().toLowerCase())
            .filter(Boolean),
        ) as ReadonlySet<string>,
    )
    .default(new Set<string>()),
  /** How often missed deadlines are re-created and the scanner's watch sets rebuilt from PostgreSQL. */
  MAINTENANCE_INTERVAL_SEC: z.coerce.number().int().min(1).max(3600).default(60),
  /** How often deposit addresses' on-chain balances are compared with the ledger (drift flags the deal). */
  RECONCILE_INTERVAL_SEC: z.coerce.number().int().min(10).max(86_400).default(600),
  /** Payment jobs verified at once by one workers process. */
  PAYMENTS_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Without it Telegram notifications are off (the app still gets every event); with it, APP_ORIGIN is required. */
  TELEGRAM_BOT_TOKEN: telegramBotToken.optional(),
  TELEGRAM_API_ROOT: telegramApiRoot,
  /** The app's origin: notification buttons open the deal there, as a Telegram Mini App. */
  APP_ORIGIN: url(['http', 'https'])
    .transform((u) => new URL(u).origin)
    .optional(),
  /** Telegram messages per second for the whole bot (Telegram allows about 30); 0 turns the limit off. */
  NOTIFY_RATE_PER_SEC: z.coerce.number().int().min(0).max(1000).default(30),
  /** Least time between two messages to one chat, in ms (Telegram allows about one per second). */
  NOTIFY_CHAT_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** Operators' Telegram ids, as the API reads them: each gets an alert when a deal needs review. */
  OPERATOR_TELEGRAM_IDS: telegramIdList,
  /**
   * OpenAI-compatible upstreams, tried in order, as JSON: [{"name":"main","baseUrl":"https://…/v1",
   * "apiKey":"…","model":"…"}]. Unset: the built-in responder answers.
   */
  LLM_PROVIDERS: json(
    z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'lower-case letters, digits, _ or -'),
          baseUrl: url(['http', 'https']),
          apiKey: z.string().min(1).optional(),
          model: z.string().min(1).max(200),
        }),
      )
      .min(1),
  ).optional(),
  /** Assistant requests running at once across every workers process (protects the upstream). */
  LLM_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  /** Completion tokens per answer at most. */
  LLM_MAX_TOKENS: z.coerce.number().int().min(16).max(8192).default(800),
  ...registryConfigEnv,
});
export type WorkersConfig = z.infer<typeof workersConfigSchema>;

/** Whether a workers process runs a role (`WORKERS_ROLES`). */
export function hasRole(config: { WORKERS_ROLES: ReadonlySet<WorkerRole> }, role: WorkerRole): boolean {
  return config.WORKERS_ROLES.has(role);
}

export const scannerConfigSchema = baseConfigSchema.extend({
  SCANNER_HEALTH_PORT: port(8060),
  PAYMENT_WEBHOOK_SECRET: webhookSecret,
  /** The secret being rotated to: callbacks carry a signature with each (deploy/README.md, rotation). */
  PAYMENT_WEBHOOK_SECRET_NEXT: webhookSecret.optional(),
  PAYMENT_CALLBACK_URL: url(['http', 'https']),
  /** Poll interval per chain: one scan job runs this often (a job scheduler per chain). */
  SCAN_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** Cold (old) deposit addresses are scanned every this many ticks. */
  SCAN_COLD_EVERY_TICKS: z.coerce.number().int().min(1).max(100_000).default(30),
  /** Where each chain's cursor checkpoint is written, so losing Redis means a rescan, not a gap. */
  SCAN_CHECKPOINT_DIR: z.string().min(1).default('.data/scan-checkpoints'),
  /**
   * Block to start from per chain when neither Redis nor a checkpoint has a cursor, as JSON
   * {"1": 19000000}; chains not listed start at their current head.
   */
  SCAN_START_BLOCKS: json(z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative())).optional(),
  ...registryConfigEnv,
});
export type ScannerConfig = z.infer<typeof scannerConfigSchema>;

export const assistConfigSchema = baseConfigSchema
  .omit({ DATABASE_URL: true, DATABASE_SCHEMA: true, STORAGE_MODE: true, MONGO_URL: true, MONGO_DB: true })
  .extend({
    ASSIST_HOST: z.string().default('127.0.0.1'),
    ASSIST_PORT: port(8090),
    /** The API's base URL, which the bot calls on users' behalf and the proxy checks sessions against. */
    API_URL: url(['http', 'https']).transform((u) => u.replace(/\/+$/, '')),
    /** The app's origin: CORS admits it, and the bot's Mini App buttons open it. */
    APP_ORIGIN: url(['http', 'https']).transform((u) => new URL(u).origin),
    /** The same secret the API checks on its internal endpoints and the bot's per-user credentials. */
    ASSIST_SERVICE_SECRET: z.string().min(32, 'must be at least 32 characters'),
    /** Without it the bot is off; the LLM proxy still runs. */
    TELEGRAM_BOT_TOKEN: telegramBotToken.optional(),
    TELEGRAM_API_ROOT: telegramApiRoot,
    /**
     * Public HTTPS base URL where Telegram reaches this service. Set: webhook mode at
     * /telegram/<TELEGRAM_WEBHOOK_PATH>. Unset: long polling (development).
     */
    TELEGRAM_WEBHOOK_URL: url(['https'])
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** The secret path segment of the webhook URL. */
    TELEGRAM_WEBHOOK_PATH: webhookToken.optional(),
    /** Telegram sends it in X-Telegram-Bot-Api-Secret-Token; updates without it are refused. */
    TELEGRAM_WEBHOOK_SECRET: webhookToken.optional(),
    /** Assistant requests per user per minute. */
    LLM_REQUESTS_PER_MIN: z.coerce.number().int().min(1).max(10_000).default(20),
    /** Assistant tokens (prompt + completion) per user per UTC day. */
    LLM_DAILY_TOKENS: z.coerce.number().int().min(100).max(100_000_000).default(50_000),
    /** How long the proxy waits for an answer before giving up with 504. */
    LLM_TIMEOUT_SEC: z.coerce.number().int().min(5).max(600).default(90),
  });
export type AssistConfig = z.infer<typeof assistConfigSchema>;

/**
 * The app server. PUBLIC_* values are also what the browser gets (SvelteKit's public environment), read
 * when the server starts, so one build runs against any API.
 */
export const appConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  APP_PORT: port(3000),
  /** The interface the app server listens on. */
  APP_HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_API_URL: url(['http', 'https']),
  /** The assistant's OpenAI-compatible proxy (assist); the assistant screen is hidden without it. */
  PUBLIC_ASSIST_URL: url(['http', 'https']).optional(),
  /** Offer the API's development sign-in (Telegram ids, no bot): only where the API has DEV_SIGN_IN. */
  PUBLIC_DEV_SIGN_IN: bool,
});
export type AppConfig = z.infer<typeof appConfigSchema>;

export class ConfigError extends DomainError {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(
      'config_invalid',
      `${service}: invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet these environment variables (see .env.example) and start again.',
    );
    this.problems = problems;
  }
}

/**
 * Parses an environment against a schema. Empty strings count as unset, as they do in most .env
 * tooling, so `FOO=` does not silently become a value.
 */
export function loadConfig<T extends z.ZodType>(
  service: string,
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const parsed = schema.safeParse(cleaned);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const missing = issue.code === 'invalid_type' && cleaned[String(issue.path[0])] === undefined;
        return missing ? `${name}: is required but not set` : `${name}: ${issue.message}`;
      });
  const knows = (name: string) => schema instanceof z.ZodObject && name in schema.shape;
  for (const check of CROSS_CHECKS) {
    const problem = check(cleaned);
    const name = problem?.slice(0, problem.indexOf(':'));
    // One line per variable: a missing variable is already named, whatever else would also need it.
    if (problem && name && knows(name) && !problems.some((p) => p.startsWith(`${name}:`)))
      problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(service, problems);
  return (parsed as { data: z.infer<T> }).data;
}

/**
 * The asset registry a service runs with: the defaults, the operator's overrides and the RPC URLs from
 * its configuration. A bad override stops the process at start with the registry's own message.
 */
export function registryFromConfig(
  service: string,
  cfg: {
    ASSET_REGISTRY?: Record<string, unknown> | undefined;
    RPC_URLS?: Record<string, string[]> | undefined;
  },
): AssetRegistry {
  try {
    return createRegistry({
      ...(cfg.ASSET_REGISTRY ? { overrides: cfg.ASSET_REGISTRY as RegistryConfig } : {}),
      ...(cfg.RPC_URLS ? { rpcUrls: cfg.RPC_URLS } : {}),
    });
  } catch (err) {
    if (err instanceof DomainError)
      throw new ConfigError(service, [`ASSET_REGISTRY / RPC_URLS: ${err.message}`]);
    throw err;
  }
}
