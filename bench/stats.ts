/**
 * Small statistics over the benchmark's samples.
 */
import type { Step } from './worker-protocol';

/** The nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Median (nearest rank). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Largest value; NaN for none. */
export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b));
}

/** Mean; NaN for none. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Peak and time-weighted mean of a step function over [from, to], and its integral in value·seconds. */
export function stepStats(
  steps: readonly Step[],
  from: number,
  to: number,
): { peak: number; mean: number; integral: number } {
  if (to <= from) return { peak: Number.NaN, mean: Number.NaN, integral: Number.NaN };
  let value = 0;
  let i = 0;
  // The level at `from`: the last change at or before it.
  for (; i < steps.length && (steps[i] as Step)[0] <= from; i++) value = (steps[i] as Step)[1];
  let peak = value;
  let area = 0;
  let at = from;
  for (; i < steps.length && (steps[i] as Step)[0] <= to; i++) {
    const [t, v] = steps[i] as Step;
    area += value * (t - at);
    at = t;
    value = v;
    peak = Math.max(peak, v);
  }
  area += value * (to - at);
  return { peak, mean: area / (to - from), integral: area / 1000 };
}

/** Rounds to `digits` decimals (NaN and infinities become null, for JSON). */
export function round(value: number, digits = 2): number | null {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
