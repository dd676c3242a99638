import { createLogger } from '@amanat/platform';
import { describe, expect, it } from 'vitest';
import { until } from '../../../devstack/testing.ts';
import { createDispatcher, type IncomingUpdate } from './dispatcher.ts';

const logger = createLogger('assist', 'silent');

/** A handler that holds every update until `release()`, recording the order they started in. */
function gatedHandler() {
  const started: number[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    started,
    release: () => open(),
    handle: async (u: IncomingUpdate) => {
      started.push(u.update_id);
      await gate;
    },
  };
}

let nextId = 1;
const messageFrom = (userId: number): IncomingUpdate => ({
  update_id: nextId++,
  message: { from: { id: userId } },
});

describe('dispatcher', () => {
  it('caps one user’s backlog, tells about the overflow once per burst, and serves others meanwhile', async () => {
    const handler = gatedHandler();
    const overflows: Array<{ id: number; first: boolean }> = [];
    const d = createDispatcher(handler.handle, logger, {
      maxInFlight: 64,
      maxPerUser: 3,
      onOverflow: (u, first) => overflows.push({ id: u.update_id, first }),
    });
    const flood = Array.from({ length: 70 }, () => messageFrom(1));
    for (const u of flood) d.dispatch(u);
    expect(d.inFlight()).toBe(3);
    expect(d.full()).toBe(false);
    expect(overflows).toHaveLength(67);
    expect(overflows.filter((o) => o.first).map((o) => o.id)).toEqual([flood[3]?.update_id]);

    // Another user is not held up by the first one's backlog.
    const other = messageFrom(2);
    d.dispatch(other);
    await until('the other user is handled', () => handler.started.includes(other.update_id));

    handler.release();
    await d.drain(5000);
    expect(d.inFlight()).toBe(0);
    // The first user's kept updates ran, in order; the dropped ones never did.
    expect(handler.started.filter((id) => id !== other.update_id)).toEqual(
      flood.slice(0, 3).map((u) => u.update_id),
    );

    // The backlog emptied, so the next overflow starts a new burst and is reported as its first again.
    overflows.length = 0;
    for (let i = 0; i < 5; i++) d.dispatch(messageFrom(1));
    expect(overflows.map((o) => o.first)).toEqual([true, false]);
    await d.drain(5000);
  });

  it('never turns away a membership change (unblocking the bot), and reports a full cap', async () => {
    const handler = gatedHandler();
    const overflows: number[] = [];
    const d = createDispatcher(handler.handle, logger, {
      maxInFlight: 4,
      maxPerUser: 1,
      onOverflow: (u) => overflows.push(u.update_id),
    });
    d.dispatch(messageFrom(7));
    d.dispatch({ update_id: nextId++, my_chat_member: { from: { id: 7 } } });
    d.dispatch(messageFrom(7));
    expect(d.inFlight()).toBe(2);
    expect(overflows).toHaveLength(1);
    d.dispatch(messageFrom(8));
    d.dispatch(messageFrom(9));
    expect(d.full()).toBe(true);
    handler.release();
    await d.drain(5000);
    expect(d.full()).toBe(false);
    expect(handler.started).toHaveLength(4);
  });
});
