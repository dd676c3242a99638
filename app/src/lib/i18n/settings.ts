import type { Messages } from './locale.svelte.ts';

export const settingsMessages: Messages<
  | 'title'
  | 'language'
  | 'languageLegend'
  | 'languageSaved'
  | 'languagePending'
  | 'languageFailed'
  | 'theme'
  | 'themeLegend'
  | 'system'
  | 'light'
  | 'dark'
  | 'themeTelegram'
  | 'account'
  | 'name'
  | 'username'
  | 'roles'
  | 'noRoles'
  | 'operator'
  | 'arbitrator'
  | 'logOut'
  | 'loggingOut'
  | 'logOutHint'
  | 'version'
> = {
  en: {
    title: 'Settings',
    language: 'Language',
    languageLegend: 'Language of the app and of Amanat’s messages in Telegram',
    languageSaved: 'Language saved.',
    languagePending:
      'You are offline: the language changed on this device and will be saved to your account when you are back online.',
    languageFailed: 'The language changed on this device, but saving it to your account failed: {message}',
    theme: 'Theme',
    themeLegend: 'Colour theme',
    system: 'As on this device',
    light: 'Light',
    dark: 'Dark',
    themeTelegram: 'Inside Telegram the app follows Telegram’s colours.',
    account: 'Account',
    name: 'Name',
    username: 'Telegram username',
    roles: 'Roles',
    noRoles: 'None',
    operator: 'Operator',
    arbitrator: 'Arbitrator',
    logOut: 'Log out',
    loggingOut: 'Logging out…',
    logOutHint: 'Logging out also erases the deals and drafts this device keeps for you.',
    version: 'Version {version}',
  },
  ru: {
    title: 'Настройки',
    language: 'Язык',
    languageLegend: 'Язык приложения и сообщений Amanat в Telegram',
    languageSaved: 'Язык сохранён.',
    languagePending:
      'Нет сети: язык изменён на этом устройстве и сохранится в вашем аккаунте, когда сеть появится.',
    languageFailed: 'Язык изменён на этом устройстве, но сохранить его в аккаунте не удалось: {message}',
    theme: 'Тема',
    themeLegend: 'Цветовая тема',
    system: 'Как на устройстве',
    light: 'Светлая',
    dark: 'Тёмная',
    themeTelegram: 'Внутри Telegram приложение использует цвета Telegram.',
    account: 'Аккаунт',
    name: 'Имя',
    username: 'Имя пользователя в Telegram',
    roles: 'Роли',
    noRoles: 'Нет',
    operator: 'Оператор',
    arbitrator: 'Арбитр',
    logOut: 'Выйти',
    loggingOut: 'Выходим…',
    logOutHint: 'При выходе также удаляются сделки и черновики, сохранённые на этом устройстве.',
    version: 'Версия {version}',
  },
};
