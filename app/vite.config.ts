import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Kit finds src/ and the tsconfig from here, also when vitest runs from the repository root.
  root: import.meta.dirname,
  plugins: [
    sveltekit({
      adapter: adapter({ out: 'build', precompress: true }),
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
  server: { port: 5173, strictPort: false },
  test: {
    name: 'app',
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
    setupFiles: ['src/test-setup.ts'],
  },
  // Components mount with Svelte's browser runtime in tests.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : {},
});
