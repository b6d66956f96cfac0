import { describe, expect, it } from 'vitest';
import { displayStatus, type StatusInputs } from './displayStatus.js';

const base: StatusInputs = { connection: 'open', phase: 'idle', peerConnected: true, mediaReconnecting: false };

describe('displayStatus()', () => {
  it.each([
    [{ connection: 'idle' }, 'connecting'],
    [{ connection: 'connecting' }, 'connecting'],
    [{ connection: 'reconnecting', phase: 'paired' }, 'reconnecting'],
    [{ connection: 'failed' }, 'failed'],
    [{ connection: 'closed' }, 'disconnected'],
    [{}, 'connected'],
    [{ phase: 'waiting' }, 'waiting'],
    [{ phase: 'paired' }, 'matched'],
    [{ phase: 'paired', peerConnected: false }, 'peer-reconnecting'],
    [{ phase: 'paired', mediaReconnecting: true }, 'reconnecting'],
  ] as const)('%o shows %s', (inputs, expected) => {
    expect(displayStatus({ ...base, ...inputs })).toBe(expected);
  });
});
