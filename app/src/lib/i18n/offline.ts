import type { Messages } from './locale.svelte.ts';

export const offlineMessages: Messages<'offline' | 'waiting' | 'waitingOne' | 'updateReady' | 'reload'> = {
  en: {
    offline: "You're offline. Showing what this device saved.",
    waiting: '{count} actions waiting to be sent',
    waitingOne: '1 action waiting to be sent',
    updateReady: 'A new version is ready',
    reload: 'Reload',
  },
  ru: {
    offline: 'Нет сети. Показано то, что сохранено на этом устройстве.',
    waiting: 'Ожидают отправки: {count}',
    waitingOne: 'Ожидает отправки: 1 действие',
    updateReady: 'Готова новая версия',
    reload: 'Перезагрузить',
  },
};
