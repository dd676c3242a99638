/**
 * How a workers process is started (by `npm start`, the benchmark and the deployment). With Node's
 * defaults it peaked near 330 MB while the assistant benchmark drove thousands of llm jobs through it
 * (V8 growing a 64 MB young generation, glibc an arena per thread). The old space is left uncapped: a
 * payment backlog or a large outbox batch must never meet a heap limit.
 */
export const WORKERS_PROCESS = {
  nodeArgs: ['--max-semi-space-size=16'],
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
