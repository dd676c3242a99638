import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,platform,api,workers,scanner,assist,devstack,scripts,e2e}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
