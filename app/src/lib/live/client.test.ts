import type { DealEvent } from '@amanat/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLiveClient, isResync, type LiveSignal, liveUrl } from './client.ts';

/** A WebSocket double: records what the client sends, lets the test play the server. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closed: { code?: number } | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closed = { code };
    this.readyState = 3;
  }
  // ---- the server's side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  serverClose(code: number) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

const event = (id: string, dealId = 'd1'): DealEvent => ({
  id,
  dealId,
  version: 2,
  seq: 3,
  action: 'accept',
  state: 'awaiting_payment',
  needsReview: false,
  audience: [],
  at: '2025-01-01T00:00:00.000Z',
  facts: {},
});

function setup(token: string | null = 'tok') {
  const state = { token, connected: false, invalid: 0 };
  const client = createLiveClient({
    url: () => 'wss://api.example/api/ws',
    token: () => state.token,
    onSessionInvalid: () => {
      state.invalid++;
      state.token = null;
    },
    onConnectedChange: (c) => {
      state.connected = c;
    },
    random: () => 0.5,
  });
  const got: LiveSignal[] = [];
  return { state, client, got, listen: () => client.subscribe((s) => got.push(s)) };
}

const latest = () => FakeSocket.all.at(-1) as FakeSocket;

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeSocket);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('live deal events', () => {
  it('turns the API URL into its WebSocket endpoint', () => {
    expect(liveUrl('https://api.example/')).toBe('wss://api.example/api/ws');
    expect(liveUrl('http://localhost:3000')).toBe('ws://localhost:3000/api/ws');
  });

  it('authenticates first, reports connected on ready, and delivers each event once', () => {
    const { state, got, listen } = setup();
    listen();
    const ws = latest();
    expect(ws.url).toBe('wss://api.example/api/ws');
    ws.open();
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok' });
    expect(state.connected).toBe(false);
    ws.receive({ type: 'ready', userId: '00000000-0000-4000-8000-000000000000' });
    expect(state.connected).toBe(true);
    ws.receive({ type: 'deal.event', event: event('e1') });
    ws.receive({ type: 'deal.event', event: event('e1') });
    ws.receive({ type: 'deal.event', event: event('e2') });
    expect(got.map((s) => (isResync(s) ? 'resync' : s.id))).toEqual(['e1', 'e2']);
  });

  it('passes a server resync on as a refetch signal to every subscriber', () => {
    const { client, got, listen } = setup();
    listen();
    const other: LiveSignal[] = [];
    client.subscribe((s) => other.push(s));
    expect(FakeSocket.all).toHaveLength(1);
    latest().open();
    latest().receive({ type: 'ready', userId: 'u' });
    latest().receive({ type: 'resync' });
    expect(got).toEqual([{ kind: 'resync' }]);
    expect(other).toEqual([{ kind: 'resync' }]);
  });

  it('reconnects after the delay a restarting server asks for, then asks screens to refetch', () => {
    const { state, got, listen } = setup();
    listen();
    latest().open();
    latest().receive({ type: 'ready', userId: 'u' });
    latest().receive({ type: 'reconnect', retryAfterMs: 7000 });
    latest().serverClose(1012);
    expect(state.connected).toBe(false);
    vi.advanceTimersByTime(6999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    latest().open();
    latest().receive({ type: 'ready', userId: 'u' });
    expect(state.connected).toBe(true);
    expect(got).toEqual([{ kind: 'resync' }]);
  });

  it('backs off exponentially while the server stays away, and starts over after a success', () => {
    const { listen } = setup();
    listen();
    // random() = 0.5 → delay = 3/4 of 1 s, 2 s, 4 s …
    latest().serverClose(1006);
    vi.advanceTimersByTime(749);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    latest().serverClose(1006);
    vi.advanceTimersByTime(1499);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    latest().open();
    latest().receive({ type: 'ready', userId: 'u' });
    latest().serverClose(1006);
    vi.advanceTimersByTime(750);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it('expires the session on 4401 and does not reconnect', () => {
    const { state, listen } = setup();
    listen();
    latest().open();
    latest().serverClose(4401);
    expect(state.invalid).toBe(1);
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('waits longer after being told there are too many connections', () => {
    const { listen } = setup();
    listen();
    latest().serverClose(4429);
    vi.advanceTimersByTime(29_000);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(2000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('keeps the too-many-connections penalty when woken (back online, back in the foreground)', () => {
    const { client, listen } = setup();
    listen();
    latest().serverClose(4429);
    vi.advanceTimersByTime(10_000);
    client.wake();
    client.wake();
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(19_000);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(2000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('connects at once when woken during an ordinary backoff, without starting the backoff over', () => {
    const { client, listen } = setup();
    listen();
    // Two failures: the next ordinary delay would be 1.5 s, then 3 s.
    latest().serverClose(1006);
    vi.advanceTimersByTime(750);
    latest().serverClose(1006);
    expect(FakeSocket.all).toHaveLength(2);
    client.wake();
    expect(FakeSocket.all).toHaveLength(3);
    // This one fails too: the backoff continues (3 s), not back to 0.75 s.
    latest().serverClose(1006);
    vi.advanceTimersByTime(2999);
    expect(FakeSocket.all).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it('does not connect without a session, and closes after the last subscriber leaves', () => {
    const none = setup(null);
    none.listen();
    expect(FakeSocket.all).toHaveLength(0);

    const { listen } = setup();
    const off = listen();
    const ws = latest();
    off();
    expect(ws.closed).toBeNull();
    vi.advanceTimersByTime(5000);
    expect(ws.closed).not.toBeNull();
  });

  it('pings to keep the socket alive and replaces one that went silent', () => {
    const { state, listen } = setup();
    listen();
    const ws = latest();
    ws.open();
    ws.receive({ type: 'ready', userId: 'u' });
    vi.advanceTimersByTime(25_000);
    expect(ws.sent).toContainEqual({ type: 'ping' });
    vi.advanceTimersByTime(50_000);
    expect(ws.closed).not.toBeNull();
    expect(state.connected).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });
});
