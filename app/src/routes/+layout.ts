// A client-rendered app: every screen shows the user's own data, which only the browser holds (session,
// IndexedDB), and the same shell must open offline from the service worker's cache.
export const ssr = false;
export const prerender = false;
