// The module is index.svelte.ts (its state is reactive); this path keeps existing imports working.
export {
  type ShareOutcome,
  startTelegram,
  type TelegramLaunch,
  type TelegramSignInError,
  telegram,
} from './index.svelte.ts';
