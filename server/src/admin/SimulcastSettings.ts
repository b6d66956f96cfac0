import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  defaultSimulcastConfig,
  describeIssues,
  type SimulcastConfig,
  simulcastConfigSchema,
} from '@meetopia/protocol';
import type { Logger } from '../logger.js';

type SimulcastSettingsEvents = { changed: [SimulcastConfig] };

/** Where the table is kept: a JSON file in DATA_DIR, or a shared store. */
export type SettingStorage = {
  /** Names the place in log lines. */
  readonly where: string;
  /** The stored text; null when nothing is stored yet. */
  read(): Promise<string | null>;
  write(text: string): Promise<void>;
};

/**
 * The live simulcast layer table and transport caps. Persisted so that a restart keeps an
 * admin's changes (and, in a shared store, so that every instance applies them); every change is
 * validated by the shared schema before anything moves.
 */
export class SimulcastSettings extends EventEmitter<SimulcastSettingsEvents> {
  #current: SimulcastConfig;
  readonly #storage: SettingStorage;
  readonly #logger: Logger;

  private constructor(storage: SettingStorage, logger: Logger, initial: SimulcastConfig) {
    super();
    this.#storage = storage;
    this.#logger = logger;
    this.#current = initial;
  }

  /** Loads the stored table; nothing stored means defaults, an invalid one is reported and ignored. */
  static async load(storage: SettingStorage, logger: Logger): Promise<SimulcastSettings> {
    const settings = new SimulcastSettings(storage, logger, defaultSimulcastConfig);
    settings.#current = (await settings.#read()) ?? defaultSimulcastConfig;
    return settings;
  }

  get current(): SimulcastConfig {
    return this.#current;
  }

  /** Stores and applies a validated table. */
  async update(config: SimulcastConfig): Promise<void> {
    await this.#storage.write(`${JSON.stringify(config, null, 2)}\n`);
    this.#apply(config);
  }

  /** Another instance changed the stored table: apply it here too. */
  async reload(): Promise<void> {
    const stored = await this.#read();
    if (stored) this.#apply(stored);
  }

  #apply(config: SimulcastConfig): void {
    if (isDeepStrictEqual(config, this.#current)) return;
    this.#current = config;
    this.emit('changed', config);
  }

  async #read(): Promise<SimulcastConfig | null> {
    const { where } = this.#storage;
    const text = await this.#storage.read();
    if (text === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#logger.error({ where }, 'stored simulcast settings are not JSON; using defaults');
      return null;
    }
    const parsed = simulcastConfigSchema.safeParse(json);
    if (!parsed.success) {
      this.#logger.error(
        { where, problem: describeIssues(parsed.error) },
        'stored simulcast settings are invalid; using defaults',
      );
      return null;
    }
    return parsed.data;
  }
}

/** The table in a JSON file (DATA_DIR/simulcast.json): written then renamed, never half a file. */
export function fileStorage(file: string): SettingStorage {
  return {
    where: file,
    read: async () => {
      try {
        return await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    write: async (text) => {
      await mkdir(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, text, 'utf8');
      await rename(temporary, file);
    },
  };
}
