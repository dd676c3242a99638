// The service worker's registration, and the update it has waiting: the page offers to reload into a new
// version rather than switching under the user's feet (the worker never skips waiting by itself).
import type { WorkerMessage } from './types.ts';

/** How often an open app asks whether a new version was deployed. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

class Updates {
  /** A new worker is installed and waiting for the page to say "reload". */
  waiting = $state.raw<ServiceWorker | null>(null);
  registration: ServiceWorkerRegistration | null = null;
  #reloading = false;

  async register(scriptUrl: string): Promise<void> {
    const container = globalThis.navigator?.serviceWorker;
    if (!container) return;
    // Kit builds the worker as an ES module; updateViaCache 'none' checks it (and env.js, which it
    // imports) against the server on every update check whatever the HTTP cache says.
    const registration = await container.register(scriptUrl, { type: 'module', updateViaCache: 'none' });
    this.registration = registration;
    this.#watch(registration);
    container.addEventListener('controllerchange', () => {
      // Only a reload the user asked for; a first install's claim must not reload the page.
      if (!this.#reloading) return;
      window.location.reload();
    });
    const check = () => void registration.update().catch(() => {});
    setInterval(check, UPDATE_CHECK_MS);
    window.addEventListener('online', check);
  }

  /** Switch to the waiting version: it takes over, and the page reloads when it has. */
  reload(): void {
    const worker = this.waiting;
    if (!worker) return;
    this.#reloading = true;
    const message: WorkerMessage = { type: 'SKIP_WAITING' };
    worker.postMessage(message);
  }

  /** Say something to the worker that controls this page (or the active one). */
  post(message: WorkerMessage): void {
    const worker = globalThis.navigator?.serviceWorker?.controller ?? this.registration?.active;
    worker?.postMessage(message);
  }

  #watch(registration: ServiceWorkerRegistration): void {
    // A waiting worker with a controller present is an update; without one it is the first install.
    const offer = () => {
      if (registration.waiting && navigator.serviceWorker.controller) this.waiting = registration.waiting;
    };
    offer();
    registration.addEventListener('updatefound', () => {
      const installing = registration.installing;
      installing?.addEventListener('statechange', () => {
        if (installing.state === 'installed') offer();
      });
    });
  }
}

export const updates = new Updates();
