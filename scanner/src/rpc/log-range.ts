// Adaptive eth_getLogs block range: providers cap ranges (by blocks, by result count, by response size)
// and say so only in free-form error text, so the range is learned from that text and from failures.

/** What a failed eth_getLogs tells us about the range to use next. */
export type RangeAdvice =
  /** The provider named a range that works (from our fromBlock): use that many blocks. */
  | { kind: 'suggested'; blocks: bigint }
  /** The provider named its fixed cap in blocks: never go above it again. */
  | { kind: 'limit'; blocks: bigint }
  /** Too many results / too large a response / unknown failure: halve. */
  | { kind: 'halve' };

const SUGGESTED_RANGE = /\[\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*\]/i;
// Only numbers that the text ties to blocks or to a range count: "more than 10000 results" is not a block cap.
const BLOCK_LIMIT_PATTERNS: readonly RegExp[] = [
  /(\d[\d,_]*)\s*(k)?\s*-?\s*blocks?\b/i, // "up to a 2K block range", "range of 1000 blocks"
  /block\s*range[^\d[\]]{0,40}?(\d[\d,_]*)(k)?(?![\dx])/i, // "exceed maximum block range: 5000"
  /limited to (?:a |an )?(\d[\d,_]*)(k)?\s*(?:block\s*)?range/i, // "eth_getLogs is limited to a 10,000 range"
  /max(?:imum)?\s*range[^\d[\]]{0,20}?(\d[\d,_]*)(k)?(?![\dx])/i, // "max range: 3500"
];

function parseBlockCount(digits: string, kilo: string | undefined): bigint | null {
  const cleaned = digits.replace(/[,_]/g, '');
  if (!/^\d+$/.test(cleaned)) return null;
  const n = BigInt(cleaned) * (kilo ? 1000n : 1n);
  return n > 0n ? n : null;
}

/** Reads the provider's error text (every message in the cause chain) for range advice. */
export function adviseFromErrorText(text: string): RangeAdvice {
  const suggested = SUGGESTED_RANGE.exec(text);
  if (suggested?.[1] && suggested[2]) {
    const from = BigInt(suggested[1]);
    const to = BigInt(suggested[2]);
    if (to >= from) return { kind: 'suggested', blocks: to - from + 1n };
  }
  for (const pattern of BLOCK_LIMIT_PATTERNS) {
    const m = pattern.exec(text);
    if (m?.[1]) {
      const blocks = parseBlockCount(m[1], m[2]);
      if (blocks !== null) return { kind: 'limit', blocks };
    }
  }
  return { kind: 'halve' };
}

/**
 * Collects the human-readable error messages along an error's cause chain. viem's own `message` also
 * carries the request body (topics, hex block numbers), which would fool the range parser, so for viem
 * errors only `details` (the provider's message) is read.
 */
export function providerErrorText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const e = current as {
      details?: unknown;
      message?: unknown;
      data?: unknown;
      name?: unknown;
      cause?: unknown;
    };
    const isViemError = typeof e.details === 'string' || 'shortMessage' in e;
    if (typeof e.details === 'string') parts.push(e.details);
    else if (!isViemError && typeof e.message === 'string') parts.push(e.message);
    if (typeof e.data === 'string') parts.push(e.data);
    else if (e.data !== null && typeof e.data === 'object' && 'message' in e.data) {
      const inner = (e.data as { message?: unknown }).message;
      if (typeof inner === 'string') parts.push(inner);
    }
    if (e.name === 'ResponseBodyTooLargeError') parts.push('response size exceeded');
    current = e.cause;
  }
  return parts.join(' | ');
}

export interface LogRangeOptions {
  /** Starting and largest range, in blocks. */
  max: bigint;
  /** Full-width successes in a row before the range grows again (by half). */
  growAfter?: number;
  /** Log count above which a response is "heavy" and the next range shrinks to aim at `targetLogs`. */
  heavyLogs?: number;
  targetLogs?: number;
}

/**
 * The block range in use for one kind of eth_getLogs query, shared across calls so a lesson learned once
 * is kept. It shrinks on failure (to the provider's advice, back to the last width that worked, or by
 * half), grows by half after a run of full-width successes, and never grows past a cap the provider named.
 */
export class AdaptiveLogRange {
  #current: bigint;
  #ceiling: bigint;
  /** The widest span known to work lately; 0 when unknown (nothing worked yet, or it failed since). */
  #good = 0n;
  #successes = 0;
  readonly #growAfter: number;
  readonly #heavyLogs: number;
  readonly #targetLogs: number;

  constructor(opts: LogRangeOptions) {
    if (opts.max < 1n) throw new RangeError(`max log range must be at least 1 block, got ${opts.max}`);
    this.#current = opts.max;
    this.#ceiling = opts.max;
    this.#growAfter = opts.growAfter ?? 3;
    this.#heavyLogs = opts.heavyLogs ?? 5_000;
    this.#targetLogs = opts.targetLogs ?? 2_500;
  }

  get current(): bigint {
    return this.#current;
  }

  /** A query over `span` blocks returned `logCount` logs. */
  succeeded(span: bigint, logCount: number): void {
    if (span > this.#good) this.#good = span;
    if (logCount > this.#heavyLogs && span > 1n) {
      // A dense stretch: aim the next query at targetLogs before the provider or viem's 10 MB cap refuses it.
      const scaled = (span * BigInt(this.#targetLogs)) / BigInt(logCount);
      this.#current = clamp(scaled, 1n, this.#current);
      this.#successes = 0;
      return;
    }
    // Only full-width successes say the current range works; the short tail of a range proves nothing.
    if (span < this.#current) return;
    this.#successes++;
    if (this.#successes >= this.#growAfter && this.#current < this.#ceiling) {
      this.#current = clamp(this.#current + (this.#current + 1n) / 2n, 1n, this.#ceiling);
      this.#successes = 0;
    }
  }

  /** A query over `span` blocks failed with `advice`; returns the range to retry with. */
  failed(span: bigint, advice: RangeAdvice): bigint {
    this.#successes = 0;
    const base = span < this.#current ? span : this.#current;
    let next: bigint;
    if (advice.kind === 'limit') {
      this.#ceiling = clamp(advice.blocks, 1n, this.#ceiling);
      next = advice.blocks < base ? advice.blocks : base / 2n;
    } else if (advice.kind === 'suggested' && advice.blocks < base) {
      next = advice.blocks;
    } else if (this.#good > 0n && this.#good < base) {
      // A probe above the width that last worked failed: go back to that width rather than below it.
      next = this.#good;
    } else {
      next = base / 2n;
    }
    if (span <= this.#good) this.#good = 0n;
    this.#current = clamp(next, 1n, this.#ceiling);
    return this.#current;
  }
}

function clamp(value: bigint, min: bigint, max: bigint): bigint {
  if (value < min) return min;
  if (value > max) return max;
  return value;
}
