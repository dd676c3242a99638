import type { DealState } from '../deal/states.ts';

/** Languages Amanat writes in. Everything else falls back to English. */
export const LOCALES = ['en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * The locale for a stored language or a Telegram `language_code` ("ru", "ru-RU", "en-GB", …): the user's
 * own choice when we speak it, English otherwise.
 */
export function localeOf(language: string | null | undefined): Locale {
  const primary = (language ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(primary ?? '') ? (primary as Locale) : 'en';
}

/** Text in every locale; a catalogue entry is one of these or a function returning one. */
export type Localized = Record<Locale, string>;

const STATE_LABELS: Record<DealState, Localized> = {
  draft: { en: 'Draft', ru: 'Черновик' },
  awaiting_payment: { en: 'Awaiting payment', ru: 'Ожидает оплаты' },
  partially_paid: { en: 'Partially paid', ru: 'Оплачена частично' },
  funded: { en: 'Funded', ru: 'Оплачена' },
  delivered: { en: 'Delivered', ru: 'Передано' },
  disputed: { en: 'In dispute', ru: 'Спор' },
  releasing: { en: 'Releasing to the seller', ru: 'Выплата продавцу' },
  refunding: { en: 'Refunding the buyer', ru: 'Возврат покупателю' },
  splitting: { en: 'Splitting', ru: 'Раздел средств' },
  released: { en: 'Released', ru: 'Выплачено' },
  refunded: { en: 'Refunded', ru: 'Возвращено' },
  split: { en: 'Split', ru: 'Разделено' },
  cancelled: { en: 'Cancelled', ru: 'Отменена' },
  expired: { en: 'Expired', ru: 'Истекла' },
};

export const stateLabel = (state: DealState, locale: Locale): string => STATE_LABELS[state][locale];
