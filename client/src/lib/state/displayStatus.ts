import type { Phase } from '@meetopia/protocol';
import type { ConnectionState } from '../signaling/connectionMachine.js';

/** The states users see (and automation reads from `data-status`). */
export type DisplayStatus =
  | 'connecting'
  | 'connected'
  | 'disconnected'
  | 'reconnecting'
  | 'failed'
  | 'waiting'
  | 'matched'
  | 'peer-reconnecting';

export type StatusInputs = {
  connection: ConnectionState;
  phase: Phase;
  /** False while the partner's socket is down and the server holds the pair. */
  peerConnected: boolean;
  /** True while our own media transports are restarting ICE. */
  mediaReconnecting: boolean;
};

/** One visible status from the socket, the matching phase, the partner and our media. */
export function displayStatus({ connection, phase, peerConnected, mediaReconnecting }: StatusInputs): DisplayStatus {
  switch (connection) {
    case 'idle':
    case 'connecting':
      return 'connecting';
    case 'reconnecting':
      return 'reconnecting';
    case 'failed':
      return 'failed';
    case 'closed':
      return 'disconnected';
    case 'open':
      if (phase === 'idle') return 'connected';
      if (phase === 'waiting') return 'waiting';
      if (!peerConnected) return 'peer-reconnecting';
      return mediaReconnecting ? 'reconnecting' : 'matched';
  }
}
