/** Sample statistics for the bench: every figure is a median and a p99 over all samples. */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile (q in 0..1) of unsorted samples. */
export function percentile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!; // 0 <= rank < sorted.length
}

export function median(samples: number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { n: 0, p50: NaN, p99: NaN, mean: NaN, min: NaN, max: NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const s of samples) {
    sum += s;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return { n: samples.length, p50: median(samples), p99: percentile(samples, 0.99), mean: sum / samples.length, min, max };
}

/** Wall clock in ms comparable across processes on one machine (sub-ms resolution). */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Per-round rates (higher is better): p50 is the median round, the "p99" slot the slowest round. */
export function rateSummary(rates: number[]): Summary {
  const s = summarize(rates);
  return { ...s, p99: s.min };
}

/**
 * Times Parley's call and the raw baseline alternately (5 warm-up rounds, then `samples` of each),
 * so both see the same machine state.
 */
export async function measurePaired(samples: number, parleyCall: () => Promise<unknown>, rawCall: () => Promise<unknown>): Promise<{ p: Summary; b: Summary }> {
  for (let i = 0; i < 5; i++) {
    await parleyCall();
    await rawCall();
  }
  const p: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < samples; i++) {
    let t = now();
    await parleyCall();
    p.push(now() - t);
    t = now();
    await rawCall();
    b.push(now() - t);
  }
  return { p: summarize(p), b: summarize(b) };
}
