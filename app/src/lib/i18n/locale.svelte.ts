import type { User } from '@amanat/core/api';

export type Locale = User['language'];
export const LOCALES: readonly Locale[] = ['en', 'ru'];
const STORAGE_KEY = 'amanat.locale';

function saved(): string | null {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    // Storage blocked (some privacy settings throw on access): fall back to the browser's language.
    return null;
  }
}

function initial(): Locale {
  const choice = saved();
  if (choice === 'en' || choice === 'ru') return choice;
  return globalThis.navigator?.language?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

class LocaleState {
  current = $state<Locale>(initial());

  set(locale: Locale): void {
    this.current = locale;
    try {
      localStorage.setItem(STORAGE_KEY, locale);
    } catch {
      // No storage: the choice lasts for this page.
    }
    if (globalThis.document) document.documentElement.lang = locale;
  }
}

export const locale = new LocaleState();

type Params = Record<string, string | number>;
export type Messages<K extends string> = { en: Record<K, string>; ru: Record<K, string> };

/**
 * A translator over one area's messages (each screen keeps its own file, so screens do not contend for
 * one catalogue). `{name}` placeholders are filled from params; reading `locale.current` makes every
 * call reactive in templates.
 */
export function translator<K extends string>(messages: Messages<K>): (key: K, params?: Params) => string {
  return (key, params) => {
    const text = messages[locale.current][key] ?? messages.en[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => String(params[name] ?? m)) : text;
  };
}

/** Dates and numbers in the user's language. */
export const formatDateTime = (iso: string | Date) =>
  new Intl.DateTimeFormat(locale.current, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
