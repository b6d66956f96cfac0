import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Keyed hashes of client addresses. Logs and stored safety records name a client by this hash
 * only: stable within one deployment (the same address always gives the same hash, so limits,
 * blocks and bans work), meaningless without the deployment's secret.
 */
export class AddressHasher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** 22 base64url characters (132 bits) of HMAC-SHA256 over the normalised address. */
  hash(address: string): string {
    return createHmac('sha256', this.#key).update(normaliseAddress(address)).digest('base64url').slice(0, 22);
  }
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) is the same client as `1.2.3.4`. */
export function normaliseAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice('::ffff:'.length) : lower;
}

/** Name of the generated key file in DATA_DIR. */
export const IDENTITY_KEY_FILE = 'identity.key';

/**
 * The hashing key: IDENTITY_SECRET when configured, else a random key generated once in
 * DATA_DIR (mode 0600) so that hashes stay stable across restarts. An unreadable or unwritable
 * data directory is a start-up error, not a silently changing key.
 */
export async function loadIdentityKey(dataDir: string, configured: string | undefined): Promise<Buffer> {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const file = join(dataDir, IDENTITY_KEY_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(text))
      throw new Error(`${file} is not a 64-digit hex key; delete it to generate a new one`);
    return Buffer.from(text, 'hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadIdentityKey(dataDir, configured);
    throw error;
  }
  return key;
}
