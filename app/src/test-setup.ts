// IndexedDB for the offline store in jsdom (a complete in-memory implementation of the spec).
import 'fake-indexeddb/auto';

// The deployment's public settings as SvelteKit's `$app/env/public` reads them in tests; a test that
// needs others mocks the module itself.
Object.assign(globalThis, {
  __sveltekit_dev: {
    env: { PUBLIC_API_URL: 'http://api.test', PUBLIC_ASSIST_URL: '', PUBLIC_DEV_SIGN_IN: false },
  },
});
