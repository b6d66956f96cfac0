/** Percentile by nearest rank (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summary(name: string, values: readonly number[], unit = 'ms'): string {
  if (values.length === 0) return `${name}: no samples`;
  const fmt = (value: number) => `${Math.round(value)} ${unit}`;
  return `${name}: n=${values.length} p50=${fmt(percentile(values, 50))} p95=${fmt(percentile(values, 95))} min=${fmt(values.reduce((a, b) => Math.min(a, b)))} max=${fmt(values.reduce((a, b) => Math.max(a, b)))}`;
}
