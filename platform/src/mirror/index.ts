export * from './backfill.ts';
export * from './cli-support.ts';
export * from './compare.ts';
export * from './legacy-shape.ts';
export * from './mirror.ts';
export * from './mirror-writer.ts';
