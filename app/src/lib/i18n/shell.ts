import type { Messages } from './locale.svelte.ts';

export const shellMessages: Messages<
  'nav' | 'deals' | 'newDeal' | 'assistant' | 'arbitration' | 'review' | 'settings' | 'skip' | 'working'
> = {
  en: {
    nav: 'Main',
    deals: 'Deals',
    newDeal: 'New deal',
    assistant: 'Assistant',
    arbitration: 'Arbitration',
    review: 'Review',
    settings: 'Settings',
    skip: 'Skip to content',
    working: 'Working…',
  },
  ru: {
    nav: 'Главное',
    deals: 'Сделки',
    newDeal: 'Новая сделка',
    assistant: 'Помощник',
    arbitration: 'Арбитраж',
    review: 'Проверка',
    settings: 'Настройки',
    skip: 'К содержимому',
    working: 'Выполняется…',
  },
};
