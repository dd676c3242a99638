import { spawnSync } from 'node:child_process';

/** Debian packages that provide a command, for machines that have none of what a session installed. */
const PROVIDERS: Record<string, string> = {
  'redis-server': 'redis-server',
  pgbench: 'postgresql-client',
  psql: 'postgresql-client',
  // The app's end-to-end tests and benchmark drive Debian's Chromium (playwright-core, /usr/bin/chromium).
  chromium: 'chromium',
  // The deployment's Caddyfile is validated and exercised by Debian's Caddy (the version it must accept).
  caddy: 'caddy',
  // The deployment's tests: shell scripts are linted, and the backup scripts round-trip a private
  // PostgreSQL of pg_dump's own major (Debian's server package).
  shellcheck: 'shellcheck',
  pg_dump: 'postgresql-client',
  pg_ctlcluster: 'postgresql',
};

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * Installs missing commands from Debian's packages when running as root (CI, fresh dev machines);
 * otherwise says exactly what to install.
 */
export function ensureSystemPackages(opts: { needs: string[]; log: (m: string) => void }): void {
  const missing = opts.needs.filter((cmd) => !onPath(cmd));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((cmd) => PROVIDERS[cmd] ?? cmd))];
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(
      `Missing ${missing.join(', ')}: install ${packages.join(' ')} (Debian: sudo apt-get install -y ${packages.join(' ')})`,
    );
  }
  opts.log(`installing ${packages.join(' ')} from Debian's packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const result = spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  if (result.status !== 0) throw new Error(`apt-get install ${packages.join(' ')} failed`);
}
