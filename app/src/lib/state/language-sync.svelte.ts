import type { User } from '@amanat/core/api';
import type { Locale } from '#lib/i18n/locale.svelte.ts';

/**
 * The language choice and its trip to the account (the bot writes to the user in it). The app switches
 * at once; the account follows when the network allows. A change made offline is remembered on the
 * device, for its own user only, and sent when the browser is next online.
 */
const PENDING_KEY = 'amanat.language.pending';

export type LanguageStatus =
  | { kind: 'idle' }
  | { kind: 'saved' }
  | { kind: 'pending' }
  | { kind: 'failed'; message: string };

interface Pending {
  userId: string;
  language: Locale;
}

export interface LanguageDeps {
  setLocale: (language: Locale) => void;
  save: (language: Locale) => Promise<User>;
  updateUser: (user: User) => void;
  userId: () => string | null;
  online: () => boolean;
  /** The request never got an answer (no network). */
  isNetworkError: (err: unknown) => boolean;
  storage: Storage | null;
}

export class LanguageSync {
  status = $state<LanguageStatus>({ kind: 'idle' });
  #deps: LanguageDeps;

  constructor(deps: LanguageDeps) {
    this.#deps = deps;
  }

  /** The user picked a language: show it now, save it to the account now or later. */
  async choose(language: Locale): Promise<void> {
    this.#deps.setLocale(language);
    const userId = this.#deps.userId();
    if (!userId) return;
    this.#remember({ userId, language });
    await this.#send();
  }

  /** Sends a change made offline, if this device holds one for the signed-in user. */
  async retry(): Promise<void> {
    const pending = this.#pending();
    if (!pending) return;
    if (pending.userId !== this.#deps.userId()) return;
    await this.#send();
  }

  /** Whether this device holds a change for the signed-in user that the account has not got yet. */
  hasPending(): boolean {
    const pending = this.#pending();
    return pending !== null && pending.userId === this.#deps.userId();
  }

  /** Forgets a change not yet sent (signing out). */
  forget(): void {
    this.#deps.storage?.removeItem(PENDING_KEY);
    this.status = { kind: 'idle' };
  }

  async #send(): Promise<void> {
    const pending = this.#pending();
    if (!pending) return;
    if (!this.#deps.online()) {
      this.status = { kind: 'pending' };
      return;
    }
    try {
      const user = await this.#deps.save(pending.language);
      // Another choice may have come meanwhile; only the one sent is done.
      if (this.#pending()?.language === pending.language) this.#deps.storage?.removeItem(PENDING_KEY);
      if (this.#deps.userId() === user.id) this.#deps.updateUser(user);
      this.status = { kind: 'saved' };
    } catch (err) {
      if (this.#deps.isNetworkError(err)) {
        this.status = { kind: 'pending' };
        return;
      }
      // The API refused: sending it again would not help.
      this.#deps.storage?.removeItem(PENDING_KEY);
      this.status = { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
  }

  #remember(pending: Pending): void {
    try {
      this.#deps.storage?.setItem(PENDING_KEY, JSON.stringify(pending));
    } catch {
      // No storage: the retry happens only while this page lives.
    }
  }

  #pending(): Pending | null {
    try {
      const raw = this.#deps.storage?.getItem(PENDING_KEY);
      const value = raw ? (JSON.parse(raw) as Pending) : null;
      return value && (value.language === 'en' || value.language === 'ru') ? value : null;
    } catch {
      return null;
    }
  }
}
