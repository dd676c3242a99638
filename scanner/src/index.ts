// The scanner's surface for benchmarks and end-to-end tests; the service itself starts from main.ts.
export { DEFAULT_CALLBACK_TIMEOUT_MS, type DeliveryTarget, deliverCallback } from './delivery/deliver.ts';
export {
  CALLBACK_ATTEMPTS,
  CALLBACK_BACKOFF_TYPE,
  callbackBackoffMs,
  callbackJobOptions,
} from './delivery/retry.ts';
export { type CallbackWorkerOptions, startCallbackWorker } from './delivery/worker.ts';
export { type ChainRpcHandle, createChainRpc } from './rpc/index.ts';
export type { ChainRpc } from './rpc/types.ts';
export { readCheckpoint, type ScanCheckpoint, writeCheckpoint } from './scan/checkpoint.ts';
export { callbackJobFor, enqueueEvents } from './scan/emit.ts';
export type { PaymentEvent } from './scan/plan.ts';
export { recentBlocksToKeep, type ScanState } from './scan/state.ts';
export { ScanStateStore, StateConflictError, WatchSets } from './scan/store.ts';
export {
  DEFAULT_BLOCKS_PER_STEP,
  DEFAULT_TICK_BUDGET_MS,
  type ScanDeps,
  type ScanHooks,
  type StepReport,
  scanTick,
  type TickReport,
} from './scan/tick.ts';
export {
  type ChainStats,
  SCAN_LOCK_DURATION_MS,
  SCAN_STALLED_INTERVAL_MS,
  type ScannerHandle,
  type StartScannerOptions,
  startScanner,
} from './scanner.ts';
