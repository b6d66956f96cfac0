import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig()', () => {
  it('applies documented defaults to an empty environment', () => {
    const config = loadConfig({ ANNOUNCED_ADDRESS: '203.0.113.5' });
    expect(config.port).toBe(3003);
    expect(config.media.basePort).toBe(40000);
    expect(config.media.announcedAddress).toBe('203.0.113.5');
    expect(config.heartbeat).toEqual({ intervalMs: 10_000, timeoutMs: 5000 });
    expect(config.session.maxStandbyMs).toBe(120_000);
    expect(config.limits.maxConnectionsPerIp).toBe(20);
    expect(config.media.workers).toBeGreaterThanOrEqual(1);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3003);
  });

  it('names the variable and the bad value', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT: must be an integer from 0 to 65535 \(got "eighty"\)/);
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig({ PORT: '-1', LOG_LEVEL: 'loud', PING_INTERVAL: 'x' });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('LOG_LEVEL');
      expect(message).toContain('PING_INTERVAL');
    }
  });

  it('refuses a ping timeout that is not shorter than the interval', () => {
    expect(() => loadConfig({ PING_INTERVAL: '5000', PING_TIMEOUT: '5000' })).toThrow(/PING_TIMEOUT/);
  });

  it('refuses TURN URLs without a secret, and relay-only without TURN', () => {
    expect(() => loadConfig({ TURN_URLS: 'turn:turn.example.com:3478' })).toThrow(/TURN_SECRET/);
    expect(() => loadConfig({ ICE_TRANSPORT_POLICY: 'relay' })).toThrow(/ICE_TRANSPORT_POLICY/);
  });

  it('refuses malformed origins', () => {
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'https://chat.example.com/path' })).toThrow(/ALLOWED_ORIGINS/);
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080' }).allowedOrigins).toEqual([
      'https://a.example',
      'http://b.example:8080',
    ]);
  });

  it('refuses media ports that collide with the pipe range', () => {
    expect(() => loadConfig({ MEDIA_PORT: '41000', WORKERS: '2' })).toThrow(/MEDIA_PORT/);
    expect(() => loadConfig({ MEDIA_PORT: '80' })).toThrow(/MEDIA_PORT/);
  });

  it('needs the address other instances reach the pipes on when they listen on every address', () => {
    expect(() => loadConfig({ INSTANCE_PIPE_LISTEN_IP: '0.0.0.0' })).toThrow(/INSTANCE_PIPE_ADDRESS: required/);
    const config = loadConfig({ INSTANCE_PIPE_LISTEN_IP: '0.0.0.0', INSTANCE_PIPE_ADDRESS: '10.0.0.5' });
    expect(config.media.instancePipe).toEqual({ listenIp: '0.0.0.0', announcedAddress: '10.0.0.5' });
    expect(loadConfig({}).media.instancePipe).toEqual({ listenIp: '127.0.0.1', announcedAddress: undefined });
  });

  it('refuses a short admin token', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN: must be at least 16 characters/);
  });

  it('reads REDIS_URL and refuses one that is not a redis:// URL, without echoing it', () => {
    expect(loadConfig({}).redis).toBeNull();
    const IDENTITY_SECRET = 'shared-by-every-instance';
    const redis = loadConfig({ REDIS_URL: 'redis://:pw@cache:6379/0', REGION: 'eu-west', IDENTITY_SECRET }).redis;
    expect(redis).toMatchObject({ url: 'redis://:pw@cache:6379/0', prefix: 'meetopia:', region: 'eu-west' });
    expect(redis?.instanceId).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
    expect(loadConfig({ REDIS_URL: 'rediss://cache', INSTANCE_ID: 'node-1', IDENTITY_SECRET }).redis?.instanceId).toBe(
      'node-1',
    );
    const refuse = (url: string) => () => loadConfig({ REDIS_URL: url, IDENTITY_SECRET });
    expect(refuse('http://:secret-pw@cache:6379')).toThrow(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(refuse('http://:secret-pw@cache:6379')).not.toThrow(/secret-pw/);
    expect(refuse('cache:6379')).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ REDIS_URL: 'redis://cache', REDIS_PREFIX: 'has space', IDENTITY_SECRET })).toThrow(
      /REDIS_PREFIX/,
    );
  });

  it('with REDIS_URL, wants the IDENTITY_SECRET every instance shares (a key made per instance would hide bans)', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://cache' })).toThrow(
      /IDENTITY_SECRET: must be set when REDIS_URL is set/,
    );
  });

  it('never echoes a secret in a configuration error', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
  });

  it('returns frozen config', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.media)).toBe(true);
  });
});
