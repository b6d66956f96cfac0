import type { types } from 'mediasoup';
import type { Session } from '../session/Session.js';

/** RTP counters of one stream as mediasoup measured them. */
export type StreamCounters = { rid?: string; packetCount: number; byteCount: number; bitrate: number; score: number };

export type SessionMediaStats = {
  sessionId: string;
  pairId: string | null;
  worker: number;
  /** Where each transport's media comes from: the browser's address, or a TURN relay's. */
  transports: Array<{
    direction: 'send' | 'recv';
    iceState: string;
    remote: { ip: string | null; port: number | null; protocol: string } | null;
  }>;
  producers: Array<{ id: string; kind: string; paused: boolean; streams: StreamCounters[] }>;
  consumers: Array<{
    id: string;
    kind: string;
    producerId: string;
    paused: boolean;
    score: types.ConsumerScore;
    currentLayers: types.ConsumerLayers | null;
    preferredLayers: types.ConsumerLayers | null;
    /** The stream sent to the receiver. */
    outbound: StreamCounters | null;
  }>;
};

/** Producer and consumer statistics straight from the mediasoup workers, per session. */
export async function collectMediaStats(sessions: Iterable<Session>): Promise<SessionMediaStats[]> {
  return Promise.all(
    [...sessions].map(async (session): Promise<SessionMediaStats> => {
      const producers = await Promise.all(
        session.media.producers.map(async (producer) => ({
          id: producer.id,
          kind: producer.kind,
          paused: producer.paused,
          streams: (await producer.getStats().catch(() => [])).map((stat) => ({
            ...(stat.rid ? { rid: stat.rid } : {}),
            packetCount: stat.packetCount,
            byteCount: stat.byteCount,
            bitrate: stat.bitrate,
            score: stat.score,
          })),
        })),
      );
      const consumers = await Promise.all(
        session.media.consumers.map(async (consumer) => {
          const stats = await consumer.getStats().catch(() => []);
          const outbound = stats.find((stat) => stat.type === 'outbound-rtp');
          return {
            id: consumer.id,
            kind: consumer.kind,
            producerId: consumer.producerId,
            paused: consumer.paused,
            score: consumer.score,
            currentLayers: consumer.currentLayers ?? null,
            preferredLayers: consumer.preferredLayers ?? null,
            outbound: outbound
              ? {
                  packetCount: outbound.packetCount,
                  byteCount: outbound.byteCount,
                  bitrate: outbound.bitrate,
                  score: outbound.score,
                }
              : null,
          };
        }),
      );
      const transports = (['send', 'recv'] as const).flatMap((direction) => {
        const transport = session.media.transport(direction);
        if (!transport) return [];
        const tuple = transport.iceSelectedTuple;
        return [
          {
            direction,
            iceState: transport.iceState,
            remote: tuple
              ? { ip: tuple.remoteIp ?? null, port: tuple.remotePort ?? null, protocol: tuple.protocol }
              : null,
          },
        ];
      });
      return {
        sessionId: session.id,
        pairId: session.pair?.id ?? null,
        worker: session.media.worker.index,
        transports,
        producers,
        consumers,
      };
    }),
  );
}
