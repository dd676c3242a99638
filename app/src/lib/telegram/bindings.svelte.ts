/**
 * Telegram's native buttons driven by the app's state. The buttons are reached through small ports (the
 * SDK's functions in the app, fakes in tests), so the rules live here and not in SDK calls.
 */
import type { PrimaryAction } from '../state/primary-action.svelte.ts';

export interface MainButtonParams {
  text?: string;
  isVisible?: boolean;
  isEnabled?: boolean;
  isLoaderVisible?: boolean;
}

export interface MainButtonPort {
  setParams(params: MainButtonParams): void;
  onClick(listener: () => void): () => void;
}

export interface BackButtonPort {
  show(): void;
  hide(): void;
  onClick(listener: () => void): () => void;
}

export interface PrimaryActionSource {
  readonly current: PrimaryAction | null;
  readonly busy: boolean;
  trigger(): Promise<void>;
}

/** Telegram refuses main-button labels longer than this. */
const MAX_LABEL = 64;

/** What the main button shows for the screen's primary action. */
export function mainButtonParams(action: PrimaryAction | null, busy: boolean): MainButtonParams {
  if (!action) return { isVisible: false, isLoaderVisible: false };
  const label = action.label.trim();
  return {
    text: label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label,
    isVisible: true,
    isEnabled: !action.disabled && !busy,
    isLoaderVisible: busy,
  };
}

/** Keep the main button in step with the primary action; a press runs it. Returns the unbinding. */
export function bindMainButton(source: PrimaryActionSource, button: MainButtonPort): () => void {
  const offClick = button.onClick(() => void source.trigger());
  const stop = $effect.root(() => {
    $effect(() => {
      button.setParams(mainButtonParams(source.current, source.busy));
    });
  });
  return () => {
    stop();
    offClick();
    button.setParams({ isVisible: false, isLoaderVisible: false });
  };
}

/** The back button belongs to every screen but the deals list, the app's root. */
export function bindBackButton(
  pathname: () => string,
  button: BackButtonPort,
  goBack: () => void,
): () => void {
  const offClick = button.onClick(goBack);
  const stop = $effect.root(() => {
    $effect(() => {
      if (pathname() === '/') button.hide();
      else button.show();
    });
  });
  return () => {
    stop();
    offClick();
    button.hide();
  };
}

/**
 * SvelteKit numbers its history entries (`sveltekit:metadata.historyIndex`, +1 per push, same on
 * replace). An entry after the one the app started on means `history.back()` stays inside the app; at the
 * first entry it would leave (in Telegram's web client: navigate the Telegram page), so we go home.
 * Without the metadata we assume there is nothing to go back to.
 */
export function historyIndex(state: unknown): number | null {
  const meta = (state as { 'sveltekit:metadata'?: { historyIndex?: unknown } } | null)?.[
    'sveltekit:metadata'
  ];
  return typeof meta?.historyIndex === 'number' ? meta.historyIndex : null;
}

export function canGoBack(state: unknown, startIndex: number | null): boolean {
  const index = historyIndex(state);
  return index !== null && startIndex !== null && index > startIndex;
}
