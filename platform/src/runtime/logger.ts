import { type Logger, pino } from 'pino';

/** Paths that may carry secrets anywhere in a log object; pino replaces them before they are written. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'initData',
  'authorization',
  'mnemonic',
  'privateKey',
  'key',
  'seed',
  '*.password',
  '*.token',
  '*.secret',
  '*.initData',
  '*.authorization',
  '*.mnemonic',
  '*.privateKey',
  '*.key',
  '*.seed',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'config.DATABASE_URL',
  'config.REDIS_URL',
  'config.MONGO_URL',
  'config.CHECKPOINT_SIGNING_KEY',
  'config.PAYMENT_WEBHOOK_SECRET',
  'config.PAYMENT_WEBHOOK_SECRET_NEXT',
  'config.TELEGRAM_BOT_TOKEN',
  // The payout signer's spending keys (workers with the payouts role).
  'config.PAYOUT_MNEMONIC',
  'config.GAS_TANK_KEY',
  'PAYOUT_MNEMONIC',
  'GAS_TANK_KEY',
  '*.PAYOUT_MNEMONIC',
  '*.GAS_TANK_KEY',
];

/** Structured JSON logs, one line per event, with the service name on every line. */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

export type { Logger };
