import type { Messages } from './locale.svelte.ts';

/** The sign-in screen for browsers (inside Telegram the app signs in by itself). */
export const authMessages: Messages<
  | 'title'
  | 'intro'
  | 'start'
  | 'creating'
  | 'openTelegram'
  | 'scan'
  | 'qrAlt'
  | 'waiting'
  | 'expiresIn'
  | 'declined'
  | 'expired'
  | 'newLink'
  | 'signedIn'
  | 'retrying'
  | 'offline'
  | 'failed'
  | 'tooMany'
  | 'devTitle'
  | 'devIntro'
  | 'devOperator'
  | 'devArbitrator'
  | 'devId'
  | 'devIdHint'
  | 'devSignIn'
  | 'devInvalid'
  | 'devUnavailable'
  | 'cancel'
  | 'inTelegram'
> = {
  en: {
    title: 'Sign in',
    intro:
      'Amanat signs you in with your Telegram account. Telegram will ask you to confirm the sign-in in a chat with the Amanat bot.',
    start: 'Sign in with Telegram',
    creating: 'Preparing a sign-in link…',
    openTelegram: 'Open Telegram to confirm',
    scan: 'On a computer? Scan this code with your phone’s camera to open Telegram there.',
    qrAlt: 'QR code of the sign-in link for Telegram',
    waiting: 'Waiting for you to confirm in Telegram…',
    expiresIn: 'The link expires',
    declined: 'You declined this sign-in in Telegram.',
    expired: 'This sign-in link has expired.',
    newLink: 'Get a new link',
    signedIn: 'Signed in. Opening Amanat…',
    retrying: 'The connection dropped; still trying…',
    offline: 'Signing in needs the network. Connect and try again.',
    failed: 'Signing in failed: {message}',
    tooMany: 'Too many sign-in attempts. Wait a minute and try again.',
    devTitle: 'Development sign-in',
    devIntro: 'Only on development servers: sign in as a test user without Telegram.',
    devOperator: 'Sign in as operator (id 1)',
    devArbitrator: 'Sign in as arbitrator (id 2)',
    devId: 'Telegram id',
    devIdHint: 'A positive whole number; each id is its own test user.',
    devSignIn: 'Sign in with this id',
    devInvalid: 'Enter a positive whole number.',
    devUnavailable: 'Development sign-in is switched off on this server.',
    cancel: 'Cancel',
    inTelegram:
      'Amanat signs you in with Telegram by itself when you open it from the Amanat bot. Close this window and open the app again from the bot’s menu button.',
  },
  ru: {
    title: 'Вход',
    intro:
      'Amanat входит через ваш аккаунт Telegram. Telegram попросит подтвердить вход в чате с ботом Amanat.',
    start: 'Войти через Telegram',
    creating: 'Готовим ссылку для входа…',
    openTelegram: 'Открыть Telegram и подтвердить',
    scan: 'Вы за компьютером? Наведите камеру телефона на этот код, чтобы открыть Telegram на телефоне.',
    qrAlt: 'QR-код ссылки для входа через Telegram',
    waiting: 'Ждём подтверждения в Telegram…',
    expiresIn: 'Ссылка истекает',
    declined: 'Вы отклонили этот вход в Telegram.',
    expired: 'Срок действия ссылки для входа истёк.',
    newLink: 'Получить новую ссылку',
    signedIn: 'Вход выполнен. Открываем Amanat…',
    retrying: 'Соединение прервалось; продолжаем попытки…',
    offline: 'Для входа нужна сеть. Подключитесь и попробуйте снова.',
    failed: 'Не удалось войти: {message}',
    tooMany: 'Слишком много попыток входа. Подождите минуту и попробуйте снова.',
    devTitle: 'Вход для разработки',
    devIntro: 'Только на серверах разработки: вход тестовым пользователем без Telegram.',
    devOperator: 'Войти как оператор (id 1)',
    devArbitrator: 'Войти как арбитр (id 2)',
    devId: 'Telegram id',
    devIdHint: 'Целое положительное число; каждому id соответствует свой тестовый пользователь.',
    devSignIn: 'Войти с этим id',
    devInvalid: 'Введите целое положительное число.',
    devUnavailable: 'Вход для разработки на этом сервере выключен.',
    cancel: 'Отмена',
    inTelegram:
      'Amanat входит через Telegram сам, когда его открывают из бота Amanat. Закройте это окно и откройте приложение снова кнопкой меню бота.',
  },
};
