import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TurnCredentials, turnPassword } from './TurnCredentials.js';

const config = {
  secret: 'a-very-long-shared-secret',
  urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'],
  ttlSeconds: 600,
  iceTransportPolicy: 'all' as const,
};

describe('TurnCredentials', () => {
  describe('mint()', () => {
    it('mints <expiry>:<session> with the HMAC-SHA1 of it as password', () => {
      const turn = new TurnCredentials(config, () => 1_700_000_000_000);
      const { iceServers, expiresAt } = turn.mint('session-1');
      expect(expiresAt).toBe(1_700_000_600_000);
      expect(iceServers).toHaveLength(1);
      const [server] = iceServers;
      expect(server?.urls).toEqual(config.urls);
      expect(server?.username).toBe('1700000600:session-1');
      const expected = createHmac('sha1', config.secret).update('1700000600:session-1').digest('base64');
      expect(server?.credential).toBe(expected);
    });

    it('never hands out the shared secret', () => {
      const turn = new TurnCredentials(config, () => 0);
      expect(JSON.stringify(turn.mint('s'))).not.toContain(config.secret);
    });

    it('offers no TURN server when none is configured', () => {
      const turn = new TurnCredentials({ ...config, secret: undefined, urls: [] }, () => 0);
      expect(turn.enabled).toBe(false);
      expect(turn.mint('s').iceServers).toEqual([]);
    });
  });

  it('turnPassword() differs per username and per secret', () => {
    expect(turnPassword('k1', 'u')).not.toBe(turnPassword('k2', 'u'));
    expect(turnPassword('k1', 'u1')).not.toBe(turnPassword('k1', 'u2'));
  });
});
