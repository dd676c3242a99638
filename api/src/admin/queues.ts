import { QUEUES, redisKeys, scanQueueName } from '@amanat/core';
import { createRedis } from '@amanat/platform';
import { Queue } from 'bullmq';
import type { ApiContext } from '../context.ts';

/** Every queue of the system as the API sees it: the fixed ones plus one scan queue per active chain. */
export function systemQueueNames(ctx: Pick<ApiContext, 'registry'>): string[] {
  return [...Object.values(QUEUES), ...ctx.registry.activeChains().map((c) => scanQueueName(c.chainId))];
}

export interface SystemQueues {
  queues: readonly Queue[];
  close(): Promise<void>;
}

/**
 * Producer-side handles on every queue, for looking at them (bull-board, metrics), on a Redis
 * connection of their own so a slow board query never queues behind the API's session lookups.
 */
export function createSystemQueues(ctx: Pick<ApiContext, 'config' | 'logger' | 'registry'>): SystemQueues {
  const connection = createRedis(ctx.config.REDIS_URL, 'producer', 'api-queues');
  const prefix = redisKeys(ctx.config.REDIS_PREFIX).bullPrefix;
  const queues = systemQueueNames(ctx).map((name) => {
    const queue = new Queue(name, { connection, prefix });
    // An EventEmitter 'error' without a listener would crash the process on a Redis hiccup.
    queue.on('error', (err) => ctx.logger.warn({ err, queue: name }, 'queue connection error'));
    return queue;
  });
  return {
    queues,
    async close() {
      // The connection is passed in, so BullMQ treats it as shared and leaves closing it to us.
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
    },
  };
}

const shared = new WeakMap<object, { queues: SystemQueues; users: number }>();

/**
 * The one SystemQueues of an API instance, shared by bull-board and the metrics; created by the first
 * user and closed when the last one releases it. server.ts builds both separately from the same ctx.
 */
export function acquireSystemQueues(ctx: Pick<ApiContext, 'config' | 'logger' | 'registry'>): {
  queues: readonly Queue[];
  release(): Promise<void>;
} {
  let entry = shared.get(ctx);
  if (!entry) {
    entry = { queues: createSystemQueues(ctx), users: 0 };
    shared.set(ctx, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    queues: held.queues.queues,
    async release() {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      if (shared.get(ctx) === held) shared.delete(ctx);
      await held.queues.close();
    },
  };
}
