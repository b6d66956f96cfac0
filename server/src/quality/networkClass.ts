import type { QualityReport } from '@meetopia/protocol';
import type { NetworkClass } from '../matchmaking/score.js';
import { classifyQuality } from './classify.js';

/**
 * A user's network as matching sees it: the quality class from their latest report and the
 * socket's round trip (measured right after hello, so known before the first match), and whether
 * their media is relayed through TURN. A relayed link is at best fair: it adds a hop.
 */
export function networkOf(
  report: QualityReport | null,
  socketRttMs: number | null,
): { network: NetworkClass; relayed: boolean } {
  const relayed = report?.path === 'relay';
  const quality = classifyQuality(report, socketRttMs);
  return { network: relayed && quality === 'good' ? 'fair' : quality, relayed };
}
