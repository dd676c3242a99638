import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Kit finds src/ and the tsconfig from here, also when vitest runs from the repository root.
  root: import.meta.dirname,
  plugins: [
    sveltekit({
      adapter: adapter({ out: 'build', precompress: true }),
      // Absolute asset paths: the service worker answers every navigation (/deals/123 too) with the one
      // cached shell, whose paths must not depend on the page's URL.
      paths: { relative: false },
      // Hashes, not nonces: the service worker serves the shell from its cache, and a cached nonce would
      // no longer match. connect-src gets the API and assistant origins at run time (hooks.server.ts).
      csp: {
        mode: 'hash',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          'style-src': ['self', 'unsafe-inline'],
          'img-src': ['self', 'data:', 'blob:'],
          'font-src': ['self'],
          'connect-src': ['self'],
          'manifest-src': ['self'],
          'worker-src': ['self'],
          'object-src': ['none'],
          'base-uri': ['self'],
          'form-action': ['self'],
          // Telegram's clients embed the Mini App in a frame; nobody else may.
          'frame-ancestors': ['self', 'https://web.telegram.org', 'https://*.telegram.org'],
        },
      },
      // The service worker is registered by the app (update prompt), not by Kit.
      serviceWorker: { register: false },
      version: { pollInterval: 0 },
    }),
  ],
  server: {
    port: 5173,
    // `npm run dev:app` (devstack/app-dev.ts): the API and the assistant under the dev server's origin.
    proxy: {
      ...(process.env.APP_DEV_API_TARGET
        ? {
            '/api': {
              target: process.env.APP_DEV_API_TARGET,
              ws: true,
              changeOrigin: true,
              headers: process.env.APP_DEV_API_ORIGIN ? { origin: process.env.APP_DEV_API_ORIGIN } : {},
            },
          }
        : {}),
      ...(process.env.APP_DEV_ASSIST_TARGET
        ? {
            '/assist': {
              target: process.env.APP_DEV_ASSIST_TARGET,
              changeOrigin: true,
              rewrite: (path: string) => path.replace(/^\/assist/, ''),
            },
          }
        : {}),
    },
  },
  test: {
    name: 'app',
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
    setupFiles: ['src/test-setup.ts'],
  },
  // Components mount with Svelte's browser runtime in tests.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : {},
});
