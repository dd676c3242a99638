import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import Page from './+page.svelte';

// The runtime environment Kit's dev server would provide.
vi.hoisted(() => {
  Object.assign(globalThis, {
    __sveltekit_dev: {
      env: { PUBLIC_API_URL: 'http://api.test', PUBLIC_ASSIST_URL: '', PUBLIC_DEV_SIGN_IN: false },
    },
  });
});
vi.mock('$app/navigation', () => ({ goto: vi.fn() }));

describe('settings screen', () => {
  it('applies and stores the theme the user picks', async () => {
    render(Page);
    await fireEvent.click(screen.getByLabelText('Dark'));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('amanat.theme')).toBe('dark');
    await fireEvent.click(screen.getByLabelText('As on this device'));
    expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
    expect(localStorage.getItem('amanat.theme')).toBeNull();
  });
});
