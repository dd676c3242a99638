// The app's production build (app/build), made when it is missing or older than the app's sources, so
// `npm start`, the end-to-end tests and the benchmark always serve what the sources say. Test files run in
// parallel processes: an exclusive lock file keeps two builds from writing app/build at once.
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
export const APP_DIR = join(root, 'app');
const BUILD_DIR = join(APP_DIR, 'build');
const HANDLER = join(BUILD_DIR, 'handler.js');
/** Written after a build with the time the build started: sources edited during a build count as newer. */
const STAMP = join(BUILD_DIR, '.amanat-build-stamp');
const LOCK = join(root, '.data', 'app-build.lock');
const VITE = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
/** What the build's output depends on. The API contract types in core change no output. */
const INPUTS = ['src', 'static', 'vite.config.ts', 'package.json'].map((p) => join(APP_DIR, p));
const LOCK_WAIT_MS = 10 * 60_000;

/** Newest modification time (ms) of a file or of any file below a directory; 0 when it does not exist. */
function newestMtime(path: string): number {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * When the current build was made (ms), or null when there is none: our stamp's time when it belongs to
 * this handler.js (a build made by hand since leaves a stale stamp), else handler.js's own time.
 */
function builtAt(): number | null {
  let handler: number;
  try {
    handler = statSync(HANDLER).mtimeMs;
  } catch {
    return null;
  }
  try {
    if (readFileSync(STAMP, 'utf8') === String(handler)) return statSync(STAMP).mtimeMs;
  } catch {
    // No stamp: a build made by hand.
  }
  return handler;
}

/** True when app/build exists and no source is newer than it. */
export function appBuildIsFresh(): boolean {
  const at = builtAt();
  return at !== null && Math.max(...INPUTS.map(newestMtime)) <= at;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the build lock (waiting for another process's build); returns its release. */
async function lock(log: (m: string) => void): Promise<() => void> {
  mkdirSync(join(root, '.data'), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // A holder that died (killed test run) leaves its lock behind: take it over.
    const holder = Number(readFileSync(LOCK, 'utf8').trim() || 'NaN');
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (!said) {
      log('waiting for another process building the app');
      said = true;
    }
    if (Date.now() > deadline) throw new Error(`app build lock ${LOCK} held for too long (pid ${holder})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function runViteBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITE, 'build'], {
      cwd: APP_DIR,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const append = (d: Buffer) => {
      out = (out + d).slice(-60_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${signal ?? `exit ${code}`}):\n${out}`)),
    );
  });
}

/** Builds the app unless app/build is already newer than every source; returns whether it built. */
export async function ensureAppBuild(log: (m: string) => void = () => {}): Promise<boolean> {
  if (appBuildIsFresh()) return false;
  const release = await lock(log);
  try {
    // Another process may have built it while we waited.
    if (appBuildIsFresh()) return false;
    const started = Date.now();
    log('building the app (vite build in app/)');
    await runViteBuild();
    writeFileSync(STAMP, String(statSync(HANDLER).mtimeMs));
    utimesSync(STAMP, started / 1000, started / 1000);
    log(`app built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } finally {
    release();
  }
}
