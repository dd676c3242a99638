// `npm test`: installs what the tests need, checks lint and types, resolves PostgreSQL and Redis the
// same way `npm start` does, and runs every test with them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePostgres, resolveRedis, type Service } from '../devstack/infra.ts';
import { ensureSystemPackages } from '../devstack/system-packages.ts';

const root = join(import.meta.dirname, '..');
const log = (msg: string) => console.log(`[test] ${msg}`);

function run(title: string, cmd: string, args: string[], cwd = root): void {
  log(title);
  const result = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) {
    log(`${title}: failed`);
    process.exit(result.status ?? 1);
  }
}

// The launcher test and the crash tests run their own redis-server even when REDIS_URL is set; the app's
// end-to-end tests drive Chromium.
ensureSystemPackages({
  needs: ['redis-server', 'chromium', 'caddy', 'shellcheck', 'pg_dump', 'pg_ctlcluster'],
  log,
});

run('lint and format (biome)', 'biome', ['check', '--error-on-warnings', '.']);
run('typecheck (tsc)', 'tsc', ['-p', 'tsconfig.json', '--noEmit']);
// The app is checked with its own TypeScript (SvelteKit 3 needs TypeScript 6's compiler API) and
// svelte-check, which covers the components too.
const appBin = (name: string) => join(root, 'app', 'node_modules', '.bin', name);
run('app: sync (svelte-kit)', appBin('svelte-kit'), ['sync'], join(root, 'app'));
run(
  'app: typecheck (svelte-check)',
  appBin('svelte-check'),
  ['--tsconfig', './tsconfig.json', '--fail-on-warnings', '--output', 'human'],
  join(root, 'app'),
);
// The service worker has its own globals (WebWorker, not DOM), so its own tsconfig.
run(
  'app: typecheck service worker (tsc)',
  appBin('tsc'),
  ['-p', 'src/service-worker/tsconfig.json', '--noEmit'],
  join(root, 'app'),
);

const services: Service[] = [];
let code = 1;
try {
  const postgres = await resolvePostgres({ dataDir: join(root, '.data', 'test-pg'), persistent: false, log });
  services.push(postgres);
  const redis = await resolveRedis({ dataDir: join(root, '.data', 'test-redis'), persistent: false, log });
  services.push(redis);
  log(`PostgreSQL: ${postgres.source}`);
  log(`Redis: ${redis.source}`);
  const report = join(root, '.data', 'vitest-report.json');
  rmSync(report, { force: true });
  const result = spawnSync(
    'vitest',
    ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redis.url, NODE_ENV: 'test' },
    },
  );
  code = result.status ?? 1;
  // One plain closing line that any CI can read, whatever it knows about vitest.
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  }
} catch (err) {
  console.error(`[test] ${(err as Error).message}`);
} finally {
  for (const s of services.reverse()) await s.stop().catch(() => {});
}
process.exit(code);
