/**
 * How an API process is started (by `npm start`, the benchmark and the deployment). Node's defaults let
 * an idle-then-busy server keep a 64 MB young generation and grow the old one lazily, and glibc keeps a
 * malloc arena per thread; under load that alone pushed the API past 280 MB. These settings hold it
 * near 170 MB at full load (`npm run bench:api` prints the peak) with the live heap at about 60 MB, so
 * the old-space cap leaves more than twice the headroom it needs.
 */
export const API_PROCESS = {
  nodeArgs: ['--max-semi-space-size=16', '--max-old-space-size=160'],
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
