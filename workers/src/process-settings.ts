/**
 * How a workers process is started (by `npm start`, the benchmark and the deployment). With Node's
 * defaults it peaked near 330 MB while the assistant benchmark drove thousands of llm jobs through it
 * (V8 growing a 64 MB young generation, glibc an arena per thread). The old space is left uncapped: a
 * payment backlog or a large outbox batch must never meet a heap limit. Uncapped, V8 lets the old space
 * grow to about four times the live heap before a full collection: the payout signer's RPC traffic
 * (fetch, under viem) left ~150 MB of garbage over a ~50 MB live heap, and bench:payouts peaked near
 * 370 MB. Collecting once it has grown by half holds it near 225 MB at the same throughput and CPU.
 */
export const WORKERS_PROCESS = {
  nodeArgs: ['--max-semi-space-size=16', '--heap-growing-percent=50'],
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
