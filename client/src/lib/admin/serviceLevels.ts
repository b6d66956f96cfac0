import type { ExperienceStatus, ExperienceWindow, ServiceTargets } from '@meetopia/protocol';

/** Whether a figure meets its target: `none` when nothing was measured in the window. */
export type Verdict = 'ok' | 'miss' | 'none';

export type ServiceCell = { window: '5m' | '1h'; value: string; verdict: Verdict; basis: string };
export type ServiceRow = {
  id: 'connect-p50' | 'connect-avg' | 'reconnection' | 'fallback' | 'turn';
  label: string;
  target: string;
  cells: ServiceCell[];
};

type Figure = {
  id: ServiceRow['id'];
  label: string;
  target: (targets: ServiceTargets) => string;
  value: (w: ExperienceWindow) => number | null;
  format: (value: number) => string;
  meets: (value: number, targets: ServiceTargets) => boolean;
  basis: (w: ExperienceWindow) => string;
};

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const percent = (share: number) => `${Math.round(share * 1000) / 10} %`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const figures: Figure[] = [
  {
    id: 'connect-p50',
    label: 'Connect time, median (Start → first frame)',
    target: (t) => `under ${seconds(t.connectAvgMs)}`,
    value: (w) => w.connect.p50Ms,
    format: seconds,
    meets: (value, t) => value < t.connectAvgMs,
    basis: (w) => plural(w.connect.reports, 'call'),
  },
  {
    id: 'connect-avg',
    label: 'Connect time, average',
    target: (t) => `under ${seconds(t.connectAvgMs)}`,
    value: (w) => w.connect.avgMs,
    format: seconds,
    meets: (value, t) => value < t.connectAvgMs,
    basis: (w) => plural(w.connect.reports, 'call'),
  },
  {
    id: 'reconnection',
    label: 'Reconnections recovered within 30 s',
    target: (t) => `over ${percent(t.reconnectionSuccessShare)}`,
    value: (w) => w.reconnection.successShare,
    format: percent,
    meets: (value, t) => value > t.reconnectionSuccessShare,
    basis: (w) => plural(w.reconnection.reports, 'reconnection'),
  },
  {
    id: 'fallback',
    label: 'Fallbacks to text (video failed) per call',
    target: (t) => `at most ${percent(t.fallbackRate)}`,
    value: (w) => w.fallback.rate,
    format: percent,
    meets: (value, t) => value <= t.fallbackRate,
    basis: (w) => `${plural(w.fallback.fallbacks, 'fallback')} in ${plural(w.calls, 'call')}`,
  },
  {
    id: 'turn',
    label: 'Calls relayed through TURN',
    target: (t) => `at most ${percent(t.relayedShare)}`,
    value: (w) => w.turn.share,
    format: percent,
    meets: (value, t) => value <= t.relayedShare,
    basis: (w) => `${w.turn.relayed} of ${plural(w.turn.callsWithPath, 'call')}`,
  },
];

/** The service-level table: each figure over 5 minutes and 1 hour, judged against its target. */
export function serviceRows(experience: ExperienceStatus): ServiceRow[] {
  const windows = [
    ['5m', experience.last5m],
    ['1h', experience.last1h],
  ] as const;
  return figures.map((figure) => ({
    id: figure.id,
    label: figure.label,
    target: figure.target(experience.targets),
    cells: windows.map(([window, figures]) => {
      const value = figure.value(figures);
      return {
        window,
        value: value === null ? 'no data' : figure.format(value),
        verdict: value === null ? 'none' : figure.meets(value, experience.targets) ? 'ok' : 'miss',
        basis: figure.basis(figures),
      };
    }),
  }));
}
