import { deviceIdSchema } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { type KeyValueStore, loadDeviceId, newDeviceId } from './deviceId.js';
import { RulesConsent } from './rulesConsent.js';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
  };
}

describe('newDeviceId()', () => {
  it('makes 43 base64url characters the protocol accepts', () => {
    const id = newDeviceId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deviceIdSchema.safeParse(id).success).toBe(true);
  });

  it('differs from one call to the next', () => {
    expect(newDeviceId()).not.toBe(newDeviceId());
  });
});

describe('loadDeviceId()', () => {
  it('keeps a new id and returns the same one next time', () => {
    const store = memoryStore();
    const first = loadDeviceId(store);
    expect(loadDeviceId(store)).toBe(first);
  });

  it('replaces a stored value the server would refuse', () => {
    const store = memoryStore();
    store.setItem('meetopia.deviceId', 'too short');
    const id = loadDeviceId(store, () => 'a'.repeat(32));
    expect(id).toBe('a'.repeat(32));
    expect(store.data.get('meetopia.deviceId')).toBe(id);
  });

  it('works without storage and when storage throws', () => {
    expect(loadDeviceId(null, () => 'b'.repeat(20))).toBe('b'.repeat(20));
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(loadDeviceId(broken, () => 'c'.repeat(20))).toBe('c'.repeat(20));
  });
});

describe('RulesConsent', () => {
  it('remembers the accepted version only', () => {
    const consent = new RulesConsent(memoryStore());
    expect(consent.accepted('v1')).toBe(false);
    consent.remember('v1');
    expect(consent.accepted('v1')).toBe(true);
    expect(consent.accepted('v2')).toBe(false);
  });
});
