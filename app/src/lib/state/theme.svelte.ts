/**
 * The colour theme the user chose: the system's, or light or dark regardless of it. Stored on the device
 * and applied as `data-theme` on <html>, which app.css keys its variables on. Importing this module
 * applies the stored choice at once, so a screen never paints in the wrong theme first.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark'];
export const THEME_STORAGE_KEY = 'amanat.theme';

function stored(): ThemeChoice {
  try {
    const value = globalThis.localStorage?.getItem(THEME_STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

/** Puts a choice on <html>: 'system' removes the attribute so the media query decides. */
export function applyTheme(choice: ThemeChoice = stored()): void {
  const root = globalThis.document?.documentElement;
  if (!root) return;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

class ThemeState {
  current = $state<ThemeChoice>(stored());

  set(choice: ThemeChoice): void {
    this.current = choice;
    try {
      if (choice === 'system') localStorage.removeItem(THEME_STORAGE_KEY);
      else localStorage.setItem(THEME_STORAGE_KEY, choice);
    } catch {
      // No storage: the choice lasts for this page.
    }
    applyTheme(choice);
  }
}

export const theme = new ThemeState();
applyTheme(theme.current);
