import { api, isNetworkError } from '../api/index.ts';
import { locale } from '../i18n/locale.svelte.ts';
import { LanguageSync } from './language-sync.svelte.ts';
import { network } from './network.svelte.ts';
import { session } from './session.svelte.ts';

/**
 * The app's one language sync: a change made offline is sent when the browser is next online, also
 * after the user has left the settings screen.
 */
export const language = new LanguageSync({
  setLocale: (l) => locale.set(l),
  save: (l) => api.setLanguage(l),
  updateUser: (user) => session.updateUser(user),
  userId: () => session.user?.id ?? null,
  online: () => network.online,
  isNetworkError,
  storage: globalThis.localStorage ?? null,
});

/**
 * At start: send a change made offline, else take the account's language and roles as the API has
 * them now (the user may have switched language in the bot, or been made an operator).
 */
export async function syncUserAtStart(): Promise<void> {
  window.addEventListener('online', () => void language.retry());
  if (!session.signedIn || !network.online) return;
  if (language.hasPending()) return language.retry();
  try {
    const user = await api.me();
    session.updateUser(user);
    locale.set(user.language);
  } catch {
    // Offline or signed out meanwhile: the stored user stands; the API client handles a 401.
  }
}

session.onSignOut(() => language.forget());
