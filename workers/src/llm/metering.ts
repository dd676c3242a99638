import {
  LLM_QUOTA_SCRIPTS,
  LLM_TOKENS_TTL_SEC,
  type LlmUsage,
  llmQuotaDay,
  llmReservation,
  redisKeys,
} from '@amanat/core';
import type { Logger } from '@amanat/platform';
import type { Redis } from 'ioredis';

/**
 * The worker's side of the daily token quota and of cancellation. The worker counts what each upstream
 * round used itself, as it goes, so a request whose client went away (or timed out) is counted all the
 * same. The proxy reserved an estimate when it admitted the request; the worker takes that reservation
 * over, counts real usage against it first, and gives back what was not used.
 */
export class RequestMeter {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly userId: string;
  private readonly requestId: string;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private credit = 0;
  private creditDay: string | null = null;

  constructor(opts: {
    redis: Redis;
    prefix: string;
    userId: string;
    requestId: string;
    logger: Logger;
    now?: () => Date;
  }) {
    this.redis = opts.redis;
    this.keys = redisKeys(opts.prefix);
    this.userId = opts.userId;
    this.requestId = opts.requestId;
    this.logger = opts.logger;
    this.now = opts.now ?? (() => new Date());
  }

  /** Takes over the proxy's reservation, if it is still there (the proxy takes it back when it withdraws a job). */
  async claim(): Promise<void> {
    try {
      const raw = (await this.redis.eval(
        LLM_QUOTA_SCRIPTS.take,
        1,
        this.keys.llmReservation(this.requestId),
      )) as string | null;
      const reserved = llmReservation.decode(raw);
      if (reserved) {
        this.credit = reserved.tokens;
        this.creditDay = reserved.day;
      }
    } catch (err) {
      // Without the reservation, real usage is counted in full: the estimate stays counted too, which errs
      // on the user's side of caution rather than the upstream bill's.
      this.logger.warn({ err: (err as Error).message }, 'could not take the quota reservation');
    }
  }

  /** Counts one round's tokens: first against the reservation, the rest on today's counter. */
  async add(usage: LlmUsage): Promise<void> {
    const tokens = usage.promptTokens + usage.completionTokens;
    const covered = Math.min(this.credit, tokens);
    this.credit -= covered;
    const rest = tokens - covered;
    if (rest <= 0) return;
    try {
      await this.redis.eval(
        LLM_QUOTA_SCRIPTS.add,
        1,
        this.keys.llmTokens(this.userId, llmQuotaDay(this.now())),
        rest,
        LLM_TOKENS_TTL_SEC,
      );
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, tokens: rest }, 'could not count assistant tokens');
    }
  }

  /** Gives back the part of the reservation no round used. Called once the request is over, however it ended. */
  async settle(): Promise<void> {
    if (this.credit <= 0 || !this.creditDay) return;
    const tokens = this.credit;
    this.credit = 0;
    try {
      await this.redis.eval(
        LLM_QUOTA_SCRIPTS.refund,
        1,
        this.keys.llmTokens(this.userId, this.creditDay),
        tokens,
      );
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, tokens }, 'could not give back unused reserved tokens');
    }
  }

  /** Whether the proxy marked the request cancelled (its client went away or it timed out). */
  async cancelled(): Promise<boolean> {
    try {
      return (await this.redis.exists(this.keys.llmCancel(this.requestId))) === 1;
    } catch {
      // Redis down: keep answering; the proxy's own timeout still ends the wait for the client.
      return false;
    }
  }
}
