import type { InlineKeyboardButton } from 'telegraf/types';

/**
 * Where the bot's buttons lead in the app. Telegram opens only HTTPS pages as Mini Apps (and refuses
 * buttons to local addresses), so with an http origin (local development) the bot writes the link in
 * the message instead of making a button.
 */
export interface AppLinks {
  /** Whether buttons can open the app as a Mini App. */
  miniApp: boolean;
  home: string;
  join(code: string): string;
  deal(id: string): string;
  /** A Mini App button, or null when the link must go in the text. */
  button(text: string, url: string): InlineKeyboardButton | null;
}

export function appLinks(appOrigin: string): AppLinks {
  const miniApp = appOrigin.startsWith('https://');
  return {
    miniApp,
    home: `${appOrigin}/`,
    join: (code) => `${appOrigin}/join/${encodeURIComponent(code)}`,
    deal: (id) => `${appOrigin}/deals/${encodeURIComponent(id)}`,
    button: (text, url) => (miniApp ? { text, web_app: { url } } : null),
  };
}
