import { PERIODS } from '@amanat/core/api';
import { describe, expect, it } from 'vitest';
import { locale } from '../i18n/locale.svelte.ts';
import { formatPeriod, PERIOD_DEFAULTS, PERIOD_PRESETS, periodParts } from './periods.ts';

describe('period presets', () => {
  it('offers only periods the API accepts, including its defaults', () => {
    for (const key of Object.keys(PERIOD_PRESETS) as (keyof typeof PERIOD_PRESETS)[]) {
      for (const sec of PERIOD_PRESETS[key]) {
        expect(sec).toBeGreaterThanOrEqual(PERIODS[key].min);
        expect(sec).toBeLessThanOrEqual(PERIODS[key].max);
      }
      expect(PERIOD_DEFAULTS[key]).toBe(PERIODS[key].default);
      expect(PERIOD_PRESETS[key]).toContain(PERIOD_DEFAULTS[key]);
    }
  });

  it('names a period in days when it is whole days, else in hours', () => {
    expect(periodParts(3 * 86_400)).toEqual({ unit: 'days', n: 3 });
    expect(periodParts(6 * 3600)).toEqual({ unit: 'hours', n: 6 });
    expect(periodParts(86_400)).toEqual({ unit: 'days', n: 1 });
  });
});

describe('formatPeriod', () => {
  it("says periods in words with the language's plural", () => {
    locale.set('en');
    expect([3600, 86_400, 7 * 86_400].map(formatPeriod)).toEqual(['1 hour', '1 day', '7 days']);
    locale.set('ru');
    expect([86_400, 3 * 86_400, 7 * 86_400].map(formatPeriod)).toEqual(['1 день', '3 дня', '7 дней']);
    locale.set('en');
  });
});
