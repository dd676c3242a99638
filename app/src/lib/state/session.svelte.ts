import type { Session, User } from '@amanat/core/api';

const STORAGE_KEY = 'amanat.session';
/** Whose data this device may still hold: kept when a session expires, removed by signing out. */
const LAST_USER_KEY = 'amanat.lastUser';

interface Stored {
  token: string;
  expiresAt: string;
  user: User;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    // Storage blocked (some privacy settings throw on access).
    return null;
  }
}

function readStored(): Stored | null {
  try {
    const raw = storage()?.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

function load(): Stored | null {
  const stored = readStored();
  return stored && Date.parse(stored.expiresAt) > Date.now() ? stored : null;
}

/**
 * The last user who signed in on this device. A session saved before this key existed still names its
 * user (expired or not), so an upgrade does not forget whose data is kept.
 */
function loadLastUser(): string | null {
  try {
    return storage()?.getItem(LAST_USER_KEY) ?? readStored()?.user.id ?? null;
  } catch {
    return null;
  }
}

/** Why the user's data is being erased: signing out also forgets how the user signed in. */
export type CleanupReason = 'sign-out' | 'other-user';
type Cleanup = (reason: CleanupReason) => Promise<void> | void;

/**
 * Who is signed in. The token lives in localStorage so the app opens signed in (and offline); what else
 * the app keeps about the user (cached deals, the outbox, service-worker caches) registers a cleanup
 * that signing out, or another account signing in, runs.
 */
class SessionState {
  #stored = $state<Stored | null>(load());
  #lastUser: string | null = loadLastUser();
  #cleanups: Cleanup[] = [];
  /** Sign-ins one after another: each compares against the user the previous one left. */
  #beginning: Promise<void> = Promise.resolve();

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

  /**
   * Start a session from the API's answer to a sign-in. When the device last held another user's data
   * (signed in now, or before a session expired), that data is erased before the new session is
   * stored, so nothing of it can show for this user.
   */
  begin(session: Session): Promise<void> {
    const begun = this.#beginning.then(() => this.#begin(session));
    this.#beginning = begun.catch(() => {});
    return begun;
  }

  async #begin(session: Session): Promise<void> {
    // Storage first: another tab may have signed someone in or out since this page loaded.
    const previous = this.#stored?.user.id ?? loadLastUser() ?? this.#lastUser;
    if (previous && previous !== session.user.id) {
      // The previous user's session goes first: nothing may read or send with it meanwhile.
      this.#stored = null;
      this.#persist();
      await this.#runCleanups('other-user');
    }
    this.#stored = { token: session.token, expiresAt: session.expiresAt, user: session.user };
    this.#setLastUser(session.user.id);
    this.#persist();
  }

  /** The user changed (language): keep the session, refresh what we show. */
  updateUser(user: User): void {
    if (!this.#stored) return;
    this.#stored = { ...this.#stored, user };
    this.#persist();
  }

  /** Register what signing out (or another account signing in) must erase (IndexedDB, caches). */
  onSignOut(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  /**
   * The API refused the token: forget it, keep cached data until the next sign-in, which erases it if
   * it is another user's.
   */
  expire(): void {
    this.#stored = null;
    this.#persist();
  }

  /** Forget the session and every piece of the user's data this device holds. */
  async signOut(revoke?: () => Promise<unknown>): Promise<void> {
    await revoke?.().catch(() => {});
    this.#stored = null;
    this.#persist();
    await this.#runCleanups('sign-out');
    // Only once the data is gone: a page closed midway leaves the next sign-in to erase it.
    this.#setLastUser(null);
  }

  async #runCleanups(reason: CleanupReason): Promise<void> {
    await Promise.allSettled(this.#cleanups.map(async (cleanup) => cleanup(reason)));
  }

  #setLastUser(id: string | null): void {
    this.#lastUser = id;
    try {
      if (id) storage()?.setItem(LAST_USER_KEY, id);
      else storage()?.removeItem(LAST_USER_KEY);
    } catch {
      // No storage: remembered for this page only.
    }
  }

  #persist(): void {
    try {
      if (this.#stored) storage()?.setItem(STORAGE_KEY, JSON.stringify(this.#stored));
      else storage()?.removeItem(STORAGE_KEY);
    } catch {
      // Private mode without storage: the session lasts for this page only.
    }
  }
}

export const session = new SessionState();
