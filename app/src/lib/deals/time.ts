/** The pieces of a countdown, biggest unit first, at most two of them ("2 d 3 h", "5 min 10 s"). */
export type Span = { unit: 'days' | 'hours' | 'minutes' | 'seconds'; n: number };

export function remainingSpans(untilMs: number, nowMs: number): Span[] | null {
  const total = Math.floor((untilMs - nowMs) / 1000);
  if (total <= 0) return null;
  const parts: Span[] = [
    { unit: 'days', n: Math.floor(total / 86_400) },
    { unit: 'hours', n: Math.floor((total % 86_400) / 3600) },
    { unit: 'minutes', n: Math.floor((total % 3600) / 60) },
    { unit: 'seconds', n: total % 60 },
  ];
  const first = parts.findIndex((p) => p.n > 0);
  return parts.slice(first, first + 2).filter((p) => p.n > 0);
}

/** How often a countdown needs to redraw: every second in its last hour, otherwise every half minute. */
export const tickMs = (untilMs: number, nowMs: number): number =>
  untilMs - nowMs < 3_600_000 ? 1000 : 30_000;
