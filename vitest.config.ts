import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['{core,platform,api,workers,scanner,assist,devstack,scripts,e2e,deploy}/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
      // The app's state modules and components, compiled by SvelteKit's own Vite config, in jsdom.
      'app/vite.config.ts',
    ],
  },
});
