// `npm run dev:app`: the app with hot reload (Vite's dev server) against the stack `npm start` runs.
// The dev server proxies the API and the assistant under its own origin, so the API's CORS rule (only
// APP_ORIGIN) needs no exception for it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNING_FILE, runningSchema } from './running.ts';

const root = join(import.meta.dirname, '..');
const dataDir = process.env.DATA_DIR ? join(root, process.env.DATA_DIR) : join(root, '.data');
const runningFile = join(dataDir, RUNNING_FILE);
if (!existsSync(runningFile)) {
  console.error('[dev:app] nothing is running: start the stack with `npm start` first, then run this');
  process.exit(1);
}
const running = runningSchema.parse(JSON.parse(readFileSync(runningFile, 'utf8')));
const port = process.env.APP_DEV_PORT ?? '5173';
const origin = `http://localhost:${port}`;

const child = spawn(
  process.execPath,
  [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'dev', '--port', port, '--strictPort'],
  {
    cwd: join(root, 'app'),
    stdio: 'inherit',
    env: {
      ...process.env,
      PUBLIC_API_URL: origin,
      PUBLIC_ASSIST_URL: running.assistUrl ? `${origin}/assist` : '',
      PUBLIC_DEV_SIGN_IN: 'true',
      APP_DEV_API_TARGET: running.apiUrl,
      // The API's WebSocket accepts only APP_ORIGIN; the proxy speaks for the dev server's page.
      ...(running.appOrigin ? { APP_DEV_API_ORIGIN: running.appOrigin } : {}),
      ...(running.assistUrl ? { APP_DEV_ASSIST_TARGET: running.assistUrl } : {}),
    },
  },
);
child.on('exit', (code) => process.exit(code ?? 0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
