import { locale } from '../i18n/locale.svelte.ts';

/**
 * Choices for a deal's time limits, in seconds, inside the API's bounds (PERIODS in
 * core/src/contracts/api/deals.ts; periods.test.ts holds them against it). The middle one of each is the
 * API's default.
 */
const H = 3600;
const D = 86_400;

export const PERIOD_PRESETS = {
  paymentWindowSec: [1 * H, 6 * H, 24 * H, 3 * D, 7 * D],
  deliveryPeriodSec: [1 * D, 3 * D, 7 * D, 14 * D, 30 * D],
  inspectionPeriodSec: [1 * D, 2 * D, 3 * D, 7 * D, 14 * D],
} as const;

export const PERIOD_DEFAULTS = {
  paymentWindowSec: 24 * H,
  deliveryPeriodSec: 7 * D,
  inspectionPeriodSec: 3 * D,
} as const;

/** A period as a count of its natural unit: days when whole days, else hours. */
export const periodParts = (sec: number): { unit: 'days' | 'hours'; n: number } =>
  sec % D === 0 ? { unit: 'days', n: sec / D } : { unit: 'hours', n: Math.round(sec / H) };

/** A period in words in the user's language, with the language's plural ("1 day", "7 дней"). */
export function formatPeriod(sec: number): string {
  const { unit, n } = periodParts(sec);
  return new Intl.NumberFormat(locale.current, {
    style: 'unit',
    unit: unit === 'days' ? 'day' : 'hour',
    unitDisplay: 'long',
  }).format(n);
}
