import { flushSync } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { primaryAction } from '../state/primary-action.svelte.ts';
import {
  bindBackButton,
  bindMainButton,
  canGoBack,
  type MainButtonParams,
  mainButtonParams,
} from './bindings.svelte.ts';

function fakeMainButton() {
  const params: MainButtonParams[] = [];
  const listeners = new Set<() => void>();
  return {
    params,
    listeners,
    last: () => params.at(-1),
    press: () => {
      for (const l of listeners) l();
    },
    setParams: (p: MainButtonParams) => params.push(p),
    onClick: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

afterEach(() => {
  primaryAction.current = null;
});

describe('bindMainButton', () => {
  it('shows the primary action’s label, hides the button without one, and runs the action on press', async () => {
    const button = fakeMainButton();
    let runs = 0;
    let finish: () => void = () => {};
    const unbind = bindMainButton(primaryAction, button);
    flushSync();
    expect(button.last()).toEqual({ isVisible: false, isLoaderVisible: false });

    primaryAction.current = {
      label: 'Confirm delivery',
      run: () => {
        runs++;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    };
    flushSync();
    expect(button.last()).toEqual({
      text: 'Confirm delivery',
      isVisible: true,
      isEnabled: true,
      isLoaderVisible: false,
    });

    button.press();
    flushSync();
    expect(runs).toBe(1);
    expect(button.last()).toMatchObject({
      isEnabled: false,
      isLoaderVisible: true,
      text: 'Confirm delivery',
    });

    // A second press while the action runs does not run it again.
    button.press();
    expect(runs).toBe(1);

    finish();
    await Promise.resolve();
    await Promise.resolve();
    flushSync();
    expect(button.last()).toMatchObject({ isEnabled: true, isLoaderVisible: false });

    primaryAction.current = null;
    flushSync();
    expect(button.last()).toEqual({ isVisible: false, isLoaderVisible: false });

    unbind();
    expect(button.listeners.size).toBe(0);
    primaryAction.current = { label: 'After', run: () => {} };
    flushSync();
    expect(button.last()).toEqual({ isVisible: false, isLoaderVisible: false });
  });

  it('disables the button for an action that cannot run yet', () => {
    expect(mainButtonParams({ label: 'Pay', run: () => {}, disabled: true }, false)).toMatchObject({
      isVisible: true,
      isEnabled: false,
    });
  });

  it('shortens labels Telegram would refuse', () => {
    const text = mainButtonParams({ label: 'x'.repeat(80), run: () => {} }, false).text ?? '';
    expect(text.length).toBe(64);
    expect(text.endsWith('…')).toBe(true);
  });
});

describe('bindBackButton', () => {
  it('is hidden on the deals list and shown elsewhere, and goes back when pressed', () => {
    let path = $state.raw('/');
    const shown: boolean[] = [];
    let back: (() => void) | null = null;
    let wentBack = 0;
    const unbind = bindBackButton(
      () => path,
      {
        show: () => shown.push(true),
        hide: () => shown.push(false),
        onClick: (l) => {
          back = l;
          return () => {
            back = null;
          };
        },
      },
      () => wentBack++,
    );
    flushSync();
    expect(shown.at(-1)).toBe(false);
    path = '/deals/7';
    flushSync();
    expect(shown.at(-1)).toBe(true);
    (back as (() => void) | null)?.();
    expect(wentBack).toBe(1);
    path = '/';
    flushSync();
    expect(shown.at(-1)).toBe(false);
    unbind();
    expect(back).toBeNull();
  });
});

describe('canGoBack', () => {
  const at = (historyIndex: number) => ({ 'sveltekit:metadata': { historyIndex } });

  it('goes back only to entries the app pushed after it started', () => {
    expect(canGoBack(at(1001), 1000)).toBe(true);
    expect(canGoBack(at(1000), 1000)).toBe(false);
  });

  it('does not guess without the router’s history metadata', () => {
    expect(canGoBack(null, 1000)).toBe(false);
    expect(canGoBack(at(5), null)).toBe(false);
  });
});
