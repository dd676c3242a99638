/**
 * The API's HTTP contract: every body, parameter and query a client sends and every view it gets back.
 * Pure zod, importing only the exact core modules it needs (never core's index), so a browser bundle can
 * take it as `@amanat/core/api` without the rest of core.
 */
export * from './assets.ts';
export * from './auth.ts';
export * from './deals.ts';
export * from './invites.ts';
export * from './live.ts';
export * from './problem.ts';
export * from './reviews.ts';
export * from './text.ts';
