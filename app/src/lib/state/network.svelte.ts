/** Whether the browser believes it is online; screens use it to say what needs the network. */
class NetworkState {
  online = $state(globalThis.navigator?.onLine ?? true);

  constructor() {
    if (typeof window === 'undefined') return;
    window.addEventListener('online', () => {
      this.online = true;
    });
    window.addEventListener('offline', () => {
      this.online = false;
    });
  }
}

export const network = new NetworkState();
