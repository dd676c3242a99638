import { describe, expect, it, vi } from 'vitest';
import { locale, translator } from './locale.svelte.ts';

describe('translator', () => {
  const t = translator({
    en: { hi: 'Hello, {name}', n: '{count} deals' },
    ru: { hi: 'Привет, {name}', n: '{count} сделок' },
  });

  it('follows the current locale and fills placeholders', () => {
    locale.set('en');
    expect(t('hi', { name: 'Ann' })).toBe('Hello, Ann');
    locale.set('ru');
    expect(t('hi', { name: 'Аня' })).toBe('Привет, Аня');
    expect(document.documentElement.lang).toBe('ru');
    expect(localStorage.getItem('amanat.locale')).toBe('ru');
  });

  it('leaves unknown placeholders visible rather than printing undefined', () => {
    locale.set('en');
    expect(t('n')).toBe('{count} deals');
  });
});

describe('locale at start', () => {
  it('opens in the browser language when storage is blocked', async () => {
    const blocked = vi.spyOn(globalThis, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    });
    vi.spyOn(navigator, 'language', 'get').mockReturnValue('ru-RU');
    try {
      vi.resetModules();
      const fresh = await import('./locale.svelte.ts');
      expect(fresh.locale.current).toBe('ru');
      // Choosing still works for this page.
      fresh.locale.set('en');
      expect(fresh.locale.current).toBe('en');
    } finally {
      blocked.mockRestore();
      vi.restoreAllMocks();
    }
  });
});
