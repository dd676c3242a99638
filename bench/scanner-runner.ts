// A scanner process for bench:scanner: the real startScanner from the scanner's environment, with
// callback delivery off (the bench reads the callbacks queue instead), reporting every tick to the
// parent over IPC. Its own process, so the peak RSS the parent reads from /proc is the scanner's alone.
import { loadConfig, registryFromConfig, scannerConfigSchema } from '@amanat/core';
import { createLogger } from '@amanat/platform';
import { z } from 'zod';
import { startScanner } from '../scanner/src/index.ts';

const parentMessage = z.object({ kind: z.literal('stop') });

const send = (msg: unknown) => {
  if (process.connected) process.send?.(msg);
};

const config = loadConfig('scanner', scannerConfigSchema, process.env);
const logger = createLogger('scanner', config.LOG_LEVEL);
const scanner = await startScanner({
  config,
  registry: registryFromConfig('scanner', config),
  logger,
  deliver: false,
  name: 'bench-scanner',
  onTick: (report) => send({ kind: 'tick', report }),
});
send({ kind: 'ready' });

let stopping: Promise<void> | null = null;
const stop = () => {
  stopping ??= scanner.stop().then(() => {
    send({ kind: 'stopped' });
    process.disconnect?.();
  });
  return stopping;
};

process.on('message', (raw) => {
  parentMessage.parse(raw);
  void stop();
});
// The parent went away: nobody reads the figures, and the scanner must not outlive the bench.
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
