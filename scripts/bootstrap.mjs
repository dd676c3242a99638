#!/usr/bin/env node
// First step of `npm start` / `npm test` on any machine. It may run on the system's Node 20 before the
// project's Node 24 is installed, so it is plain JavaScript with no dependencies: it installs what is
// missing, then runs the given TypeScript entry point on the project's pinned Node.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'node_modules', '.amanat-install-stamp');
const pinnedNode = join(root, 'node_modules', '.bin', 'node');

function installFingerprint() {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) {
    const path = join(root, file);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest('hex');
}

function ensureInstalled() {
  const fingerprint = installFingerprint();
  const current = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : '';
  if (current === fingerprint && existsSync(pinnedNode)) return;
  const fresh = !existsSync(join(root, 'node_modules'));
  const args = fresh ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  console.log(`[bootstrap] ${fresh ? 'installing' : 'updating'} dependencies: npm ${args.join(' ')}`);
  const result = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(
      '[bootstrap] npm failed; fix the error above (network to the npm registry?) and run again.',
    );
    process.exit(result.status ?? 1);
  }
  if (!existsSync(pinnedNode)) {
    console.error(
      '[bootstrap] node_modules/.bin/node is missing after install: the `node` package needs its install script,' +
        ' which package.json approves under "allowScripts". Check that this npm honours allowScripts.',
    );
    process.exit(1);
  }
  writeFileSync(stampFile, fingerprint);
}

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/bootstrap.mjs <entry.ts> [args...]');
  process.exit(2);
}
ensureInstalled();

const child = spawn(pinnedNode, [join(root, entry), ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
});
// Ctrl-C reaches the whole process group, the child included; a SIGTERM sent to this process alone
// (a supervisor, `kill`) is passed on so the child can shut down cleanly.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
