import type { ChildProcess } from 'node:child_process';

/**
 * Keeps the tail of a child process's stdout and stderr (interleaved as they arrive), for the message of
 * a test or benchmark that fails: the last `max` characters at least, never more than twice that.
 */
export function keepOutput(child: ChildProcess, max = 200_000): () => string {
  let out = '';
  const append = (d: Buffer) => {
    out += d;
    if (out.length > 2 * max) out = out.slice(-max);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => out;
}
