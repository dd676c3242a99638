import type { DealView } from '@amanat/core/api';
import { cleanup, render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { network } from '#lib/state/network.svelte.ts';
import OfflineBanner from './OfflineBanner.svelte';
import { outbox } from './outbox.svelte.ts';
import type { OutboxEntry } from './types.ts';

const entry = (id: string, patch: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id,
  idempotencyKey: `key-${id}`,
  item: { kind: 'disputeMessage', dealId: 'd', text: 'hi' },
  createdAt: 1,
  status: 'queued',
  ...patch,
});

afterEach(() => {
  cleanup();
  network.online = true;
  outbox.reset();
});

describe('OfflineBanner', () => {
  it('says so when offline, in a live region', () => {
    render(OfflineBanner);
    const region = screen.getByRole('status');
    expect(region.textContent?.trim()).toBe('');
    network.online = false;
    flushSync();
    expect(region.textContent).toContain("You're offline. Showing what this device saved.");
  });

  it('counts the actions still waiting, not the rejected or synced ones', () => {
    render(OfflineBanner);
    outbox.entries = [
      entry('a'),
      entry('b', { status: 'sending' }),
      entry('c', { status: 'rejected', error: { code: 'x', message: 'no' } }),
      entry('d', { status: 'sending', result: { id: 'deal-1' } as DealView }),
    ];
    flushSync();
    expect(screen.getByRole('status').textContent).toContain('2 actions waiting to be sent');
    outbox.entries = [entry('a')];
    flushSync();
    expect(screen.getByRole('status').textContent).toContain('1 action waiting to be sent');
  });
});
