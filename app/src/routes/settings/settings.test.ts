import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import Page from './+page.svelte';

// The runtime environment Kit's dev server would provide.
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
