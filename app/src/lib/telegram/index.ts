// Interface placeholder: the Telegram integration replaces this file.
export interface TelegramLaunch {
  /** `startapp` parameter, e.g. `deal_<code>`. */
  startParam: string | null;
}
export async function startTelegram(): Promise<TelegramLaunch | null> {
  return null;
}
export const telegram = {
  active: false,
  haptic(_kind: 'success' | 'error' | 'warning' | 'light'): void {},
};
