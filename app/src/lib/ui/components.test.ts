import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { locale } from '#lib/i18n/locale.svelte.ts';
import Countdown from './Countdown.svelte';
import StatusBadge from './StatusBadge.svelte';
import Timeline from './Timeline.svelte';

beforeEach(() => locale.set('en'));
// Each test renders into a clean document.
afterEach(() => cleanup());

describe('StatusBadge', () => {
  it('names the state in words, in the current language', () => {
    render(StatusBadge, { state: 'awaiting_payment' });
    expect(screen.getByText('Awaiting payment')).toBeTruthy();
  });

  it('speaks Russian when the user does', () => {
    locale.set('ru');
    render(StatusBadge, { state: 'disputed' });
    expect(screen.getByText('Спор')).toBeTruthy();
  });
});

describe('Countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-06-01T12:00:00.000Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('shows the time left in its two largest units', () => {
    render(Countdown, { until: '2025-06-03T15:30:00.000Z', label: 'Payment' });
    expect(screen.getByRole('timer').textContent).toContain('2 d 3 h left');
  });

  it('counts down live and says when the deadline passed', async () => {
    render(Countdown, { until: '2025-06-01T12:00:03.000Z', label: 'Payment' });
    expect(screen.getByRole('timer').textContent).toContain('3 s left');
    await vi.advanceTimersByTimeAsync(1000);
    expect(screen.getByRole('timer').textContent).toContain('2 s left');
    await vi.advanceTimersByTimeAsync(3000);
    expect(screen.getByRole('timer').textContent).toContain('passed');
  });

  it('says when there is no deadline yet', () => {
    render(Countdown, { until: null, label: 'Delivery' });
    expect(screen.getByRole('timer').textContent).toContain('not set yet');
  });

  it('shows only the date of a deadline the deal no longer waits on', () => {
    render(Countdown, { until: '2025-06-01T11:00:00.000Z', label: 'Payment', running: false });
    const timer = screen.getByRole('timer');
    expect(timer.textContent).not.toMatch(/left|passed/);
    expect(timer.querySelector('time')?.getAttribute('datetime')).toBe('2025-06-01T11:00:00.000Z');
  });
});

describe('Timeline', () => {
  const entry = (seq: number, action: string, facts: Record<string, unknown> = {}) => ({
    seq,
    at: '2025-06-01T12:00:00.000Z',
    actor: { kind: 'user', userId: 'u', role: 'buyer' },
    action,
    stateBefore: 'funded',
    stateAfter: action === 'open_dispute' ? 'disputed' : 'funded',
    facts,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  });

  it('marks a verified history and shows what people wrote', () => {
    render(Timeline, {
      activity: {
        entries: [entry(1, 'open_dispute', { reason: 'Never arrived' })],
        verification: { ok: true, problems: [] },
      },
    });
    expect(screen.getByText('Verified', { exact: false })).toBeTruthy();
    expect(screen.getByText('Opened a dispute')).toBeTruthy();
    expect(screen.getByText('Reason: Never arrived')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('warns and lists the problems when the chain does not verify', () => {
    render(Timeline, {
      activity: {
        entries: [entry(1, 'create')],
        verification: {
          ok: false,
          problems: [
            { seq: 2, kind: 'removed', detail: 'the log was cut' },
            { seq: 3, kind: 'something_new', detail: 'seq 3 is odd' },
          ],
        },
      },
    });
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('did not pass verification');
    expect(alert.textContent).toContain('Step 2: a step before this one was removed or replaced.');
    // A kind the app does not know yet: the technical detail rather than nothing.
    expect(alert.textContent).toContain('Step 3: seq 3 is odd');
    expect(screen.queryByText('Verified')).toBeNull();
  });

  it('does not take an Object.prototype name for a known action', () => {
    render(Timeline, {
      activity: { entries: [entry(1, 'constructor')], verification: { ok: true, problems: [] } },
    });
    expect(screen.getByText('constructor')).toBeTruthy();
  });
});
