/** Unit words for durations, from the message catalogue (e.g. "h", "min", "s"). */
export type DurationUnits = { days: string; hours: string; minutes: string; seconds: string };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A time left as people read it, two units at most: "3 d 4 h" (from two days on), "23 h 59 min",
 * "4 min 5 s", "5 s". Seconds are rounded up (a countdown never shows 0 s before it is over), larger
 * units down, so a 24-hour ban reads "23 h 59 min" a moment after it starts.
 */
export function formatDuration(ms: number, units: DurationUnits): string {
  const left = Math.max(0, ms);
  if (left >= 2 * DAY) {
    const days = Math.floor(left / DAY);
    return `${days} ${units.days} ${Math.floor((left % DAY) / HOUR)} ${units.hours}`;
  }
  if (left >= HOUR) {
    return `${Math.floor(left / HOUR)} ${units.hours} ${Math.floor((left % HOUR) / MINUTE)} ${units.minutes}`;
  }
  const seconds = Math.ceil(left / SECOND);
  if (seconds >= 60) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return rest === 0 ? `${minutes} ${units.minutes}` : `${minutes} ${units.minutes} ${rest} ${units.seconds}`;
  }
  return `${seconds} ${units.seconds}`;
}
