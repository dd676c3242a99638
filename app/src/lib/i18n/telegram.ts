import type { Messages } from './locale.svelte.ts';

/** Telegram sign-in problems (shown by the sign-in page) and the outcomes of sharing an invite. */
export const telegramMessages: Messages<
  | 'signInExpired'
  | 'signInInvalid'
  | 'signInOffline'
  | 'signInFailed'
  | 'linkShared'
  | 'linkCopied'
  | 'shareFailed'
> = {
  en: {
    signInExpired: 'Telegram’s sign-in data has expired. Close the app and open it again from the bot.',
    signInInvalid: 'Telegram’s sign-in data could not be verified. Open the app from the bot’s menu button.',
    signInOffline: 'Could not reach the server to sign you in. Check your connection and try again.',
    signInFailed: 'Signing in with Telegram failed: {message}',
    linkShared: 'Link shared.',
    linkCopied: 'Link copied.',
    shareFailed: 'Could not share the link. Copy it from the page instead.',
  },
  ru: {
    signInExpired: 'Данные входа из Telegram устарели. Закройте приложение и откройте его снова из бота.',
    signInInvalid: 'Не удалось проверить данные входа из Telegram. Откройте приложение кнопкой меню бота.',
    signInOffline: 'Не удалось связаться с сервером для входа. Проверьте подключение и попробуйте снова.',
    signInFailed: 'Не удалось войти через Telegram: {message}',
    linkShared: 'Ссылка отправлена.',
    linkCopied: 'Ссылка скопирована.',
    shareFailed: 'Не удалось поделиться ссылкой. Скопируйте её со страницы.',
  },
};

type TelegramMessageKey = keyof (typeof telegramMessages)['en'];

/** Which message explains a failed Telegram sign-in (API codes from POST /api/auth/telegram). */
export function signInProblemKey(code: string): TelegramMessageKey {
  if (code === 'init_data_expired') return 'signInExpired';
  if (code === 'init_data_signature_invalid' || code === 'init_data_malformed') return 'signInInvalid';
  if (code === 'network') return 'signInOffline';
  return 'signInFailed';
}
