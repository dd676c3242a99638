/**
 * How an assist process is started (by `npm start`, the benchmark and the deployment). With Node's
 * defaults it grew to about 295 MB over a few thousand assistant requests before levelling off (V8
 * sizing its heap lazily, glibc keeping an arena per thread); with these it stays near 170 MB
 * (`npm run bench:assist` prints the peak).
 */
export const ASSIST_PROCESS = {
  nodeArgs: ['--max-semi-space-size=16', '--max-old-space-size=160'],
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
