import { describe, expect, it } from 'vitest';
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
