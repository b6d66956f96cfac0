import type { HistoryPoint } from '@meetopia/protocol';

/** Values of one chart in uPlot's layout: x (seconds since the epoch), then one array per series. */
export type ChartData = [number[], ...Array<Array<number | null>>];

export type ChartSeries = { label: string; color: string };

/** One chart of the admin page: what it shows and how to read it from the samples. */
export type ChartSpec = {
  id: 'users' | 'matches' | 'wait' | 'quality' | 'layers' | 'cpu';
  title: string;
  /** Unit of the y axis, for the axis label and the text summary. */
  unit: string;
  series: ChartSeries[];
  data: ChartData;
};

/** Colours that stay apart for colour-blind readers (Okabe–Ito) and contrast on white. */
const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const color = (i: number) => palette[i % palette.length] ?? '#000000';
const layerNames = ['Low', 'Middle', 'High'];

/**
 * The six charts of the admin page from the server's /status samples: users, matches per minute,
 * match wait p95, quality classes, receivers per layer and worker CPU. Values are the samples'
 * own (/status's), only the wait is shown in seconds.
 */
export function chartSpecs(points: readonly HistoryPoint[]): ChartSpec[] {
  const x = points.map((point) => point.at / 1000);
  const series = (labels: string[]) => labels.map((label, i) => ({ label, color: color(i) }));
  const layerCount = Math.max(3, ...points.map((point) => point.layers.spatial.length));
  const workers = [...new Set(points.flatMap((point) => point.workerCpu.map((worker) => worker.index)))].sort(
    (a, b) => a - b,
  );
  const layerLabels = Array.from({ length: layerCount }, (_, i) => layerNames[i] ?? `Layer ${i}`);
  return [
    {
      id: 'users',
      title: 'Users',
      unit: 'users',
      series: series(['Active', 'Waiting', 'Paired']),
      data: [x, points.map((p) => p.active), points.map((p) => p.waiting), points.map((p) => p.paired)],
    },
    {
      id: 'matches',
      title: 'Matches per minute',
      unit: 'matches',
      series: series(['Matches in the last minute']),
      data: [x, points.map((p) => p.matchesPerMinute)],
    },
    {
      id: 'wait',
      title: 'Match wait p95 (last hour)',
      unit: 's',
      series: series(['Wait p95']),
      data: [x, points.map((p) => (p.waitP95Ms === null ? null : p.waitP95Ms / 1000))],
    },
    {
      id: 'quality',
      title: 'Network quality',
      unit: 'users',
      series: series(['Good', 'Fair', 'Poor']),
      data: [
        x,
        points.map((p) => p.quality.good),
        points.map((p) => p.quality.fair),
        points.map((p) => p.quality.poor),
      ],
    },
    {
      id: 'layers',
      title: 'Receivers per layer',
      unit: 'receivers',
      series: series([...layerLabels, 'None']),
      data: [
        x,
        ...layerLabels.map((_, layer) => points.map((p) => p.layers.spatial[layer] ?? 0)),
        points.map((p) => p.layers.none),
      ],
    },
    {
      id: 'cpu',
      title: 'Worker CPU',
      unit: '%',
      series: series(workers.map((index) => `Worker ${index}`)),
      data: [
        x,
        ...workers.map((index) =>
          points.map((p) => p.workerCpu.find((worker) => worker.index === index)?.percent ?? null),
        ),
      ],
    },
  ];
}

/**
 * Adds newly fetched samples to those kept (no duplicates, oldest first) and drops those older
 * than the window before the newest one (the server's clock, not this browser's).
 */
export function mergeHistory(
  kept: readonly HistoryPoint[],
  incoming: readonly HistoryPoint[],
  windowMs: number,
): HistoryPoint[] {
  const last = kept.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
  const merged = [...kept, ...incoming.filter((point) => point.at > last)];
  const newest = merged.at(-1)?.at ?? 0;
  return merged.filter((point) => point.at >= newest - windowMs);
}

/** A one-line text version of a chart's latest values, for screen readers. */
export function describeLatest(spec: ChartSpec): string {
  const last = spec.data[0].length - 1;
  if (last < 0) return `${spec.title}: no samples yet.`;
  const values = spec.series.map((series, i) => {
    const value = spec.data[i + 1]?.[last];
    return `${series.label} ${value === null || value === undefined ? 'unknown' : `${round(value)} ${spec.unit}`}`;
  });
  return `${spec.title}, latest: ${values.join(', ')}.`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
