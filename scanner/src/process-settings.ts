/**
 * How a scanner process is started (by `npm start`, the benchmark and the deployment). Catch-up holds a
 * step of full blocks in memory; with Node's default 64 MB young generation and a glibc malloc arena per
 * thread the process peaked near 330 MB, and these two settings bring that to about 250 MB at the same
 * speed (`npm run bench:scanner` prints the peak). The old space is left uncapped: a step of 250
 * mainnet-sized blocks is far larger than the benchmark's.
 */
export const SCANNER_PROCESS = {
  nodeArgs: ['--max-semi-space-size=16'],
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
