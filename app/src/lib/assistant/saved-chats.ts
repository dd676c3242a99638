/**
 * Where assistant conversations are kept between reloads (sessionStorage, one entry per user), and their
 * erasing on sign-out. Kept apart from the chat itself so the app's start-up code can erase them without
 * loading the assistant.
 */
export const CHAT_STORAGE_KEY = 'amanat.assistant';

function sessionStore(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/** Erases every stored conversation on this device: a conversation may name deals and amounts. */
export function clearSavedChats(storage: Storage | null | undefined = sessionStore()): void {
  if (!storage) return;
  try {
    for (let i = storage.length - 1; i >= 0; i--) {
      const key = storage.key(i);
      if (key === CHAT_STORAGE_KEY || key?.startsWith(`${CHAT_STORAGE_KEY}.`)) storage.removeItem(key);
    }
  } catch {
    // Storage unavailable: there is nothing stored to erase.
  }
}
