import { deviceIdSchema } from '@meetopia/protocol';

/** The part of localStorage these helpers use (injectable for tests; null where storage is off). */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem'>;

const DEVICE_ID_KEY = 'meetopia.deviceId';

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9_-]. */
export function newDeviceId(
  random: (bytes: Uint8Array<ArrayBuffer>) => void = (bytes) => crypto.getRandomValues(bytes),
): string {
  const bytes = new Uint8Array(32);
  random(bytes);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * This browser's device id: the one kept in storage when it is valid, else a new one (kept for
 * next time). Without storage (private mode, blocked) the id lives as long as the page.
 */
export function loadDeviceId(store: KeyValueStore | null, create: () => string = newDeviceId): string {
  try {
    const kept = store?.getItem(DEVICE_ID_KEY);
    if (kept && deviceIdSchema.safeParse(kept).success) return kept;
  } catch {
    // Storage refused (privacy settings): fall through to a fresh id.
  }
  const id = create();
  try {
    store?.setItem(DEVICE_ID_KEY, id);
  } catch {
    // Not kept: the next visit gets a new id, which only loses blocks the user made.
  }
  return id;
}

/** localStorage, or null where the browser refuses it. */
export function browserStorage(): KeyValueStore | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
