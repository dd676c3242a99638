import type { Session, User } from '@amanat/core/api';

const STORAGE_KEY = 'amanat.session';

interface Stored {
  token: string;
  expiresAt: string;
  user: User;
}

function load(): Stored | null {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    const stored = JSON.parse(raw) as Stored;
    return Date.parse(stored.expiresAt) > Date.now() ? stored : null;
  } catch {
    return null;
  }
}

type Cleanup = () => Promise<void> | void;

/**
 * Who is signed in. The token lives in localStorage so the app opens signed in (and offline); what else
 * the app keeps about the user (cached deals, the outbox, service-worker caches) registers a cleanup
 * that signing out runs.
 */
class SessionState {
  #stored = $state<Stored | null>(load());
  #cleanups: Cleanup[] = [];

  get token(): string | null {
    return this.#stored?.token ?? null;
  }
  get user(): User | null {
    return this.#stored?.user ?? null;
  }
  get signedIn(): boolean {
    return this.#stored !== null;
  }
  get isOperator(): boolean {
    return this.#stored?.user.roles.includes('operator') ?? false;
  }
  get isArbitrator(): boolean {
    return this.#stored?.user.roles.includes('arbitrator') ?? false;
  }

  /** Start a session from the API's answer to a sign-in. */
  begin(session: Session): void {
    const previous = this.#stored?.user.id;
    this.#stored = { token: session.token, expiresAt: session.expiresAt, user: session.user };
    this.#persist();
    // Another account's cached data must not show for this one.
    if (previous && previous !== session.user.id) void this.#runCleanups();
  }

  /** The user changed (language): keep the session, refresh what we show. */
  updateUser(user: User): void {
    if (!this.#stored) return;
    this.#stored = { ...this.#stored, user };
    this.#persist();
  }

  /** Register what signing out must erase (IndexedDB, caches). */
  onSignOut(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  /** The API refused the token: forget it, keep cached data until someone signs in as another user. */
  expire(): void {
    this.#stored = null;
    this.#persist();
  }

  /** Forget the session and every piece of the user's data this device holds. */
  async signOut(revoke?: () => Promise<unknown>): Promise<void> {
    await revoke?.().catch(() => {});
    this.#stored = null;
    this.#persist();
    await this.#runCleanups();
  }

  async #runCleanups(): Promise<void> {
    await Promise.allSettled(this.#cleanups.map((c) => c()));
  }

  #persist(): void {
    try {
      if (this.#stored) localStorage.setItem(STORAGE_KEY, JSON.stringify(this.#stored));
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Private mode without storage: the session lasts for this page only.
    }
  }
}

export const session = new SessionState();
