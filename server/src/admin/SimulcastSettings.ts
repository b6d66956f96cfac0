import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  defaultSimulcastConfig,
  describeIssues,
  type SimulcastConfig,
  simulcastConfigSchema,
} from '@meetopia/protocol';
import type { Logger } from '../logger.js';

type SimulcastSettingsEvents = { changed: [SimulcastConfig] };

/**
 * The live simulcast layer table and transport caps. Persisted as JSON so that a restart keeps
 * an admin's changes; every change is validated by the shared schema before anything moves.
 */
export class SimulcastSettings extends EventEmitter<SimulcastSettingsEvents> {
  #current: SimulcastConfig;
  readonly #file: string;

  private constructor(file: string, initial: SimulcastConfig) {
    super();
    this.#file = file;
    this.#current = initial;
  }

  /** Loads the persisted table; a missing file means defaults, an invalid one is reported and ignored. */
  static async load(file: string, logger: Logger): Promise<SimulcastSettings> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return new SimulcastSettings(file, defaultSimulcastConfig);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      logger.error({ file }, 'simulcast settings file is not JSON; using defaults');
      return new SimulcastSettings(file, defaultSimulcastConfig);
    }
    const parsed = simulcastConfigSchema.safeParse(json);
    if (!parsed.success) {
      logger.error(
        { file, problem: describeIssues(parsed.error) },
        'simulcast settings file is invalid; using defaults',
      );
      return new SimulcastSettings(file, defaultSimulcastConfig);
    }
    return new SimulcastSettings(file, parsed.data);
  }

  get current(): SimulcastConfig {
    return this.#current;
  }

  /** Persists (write then rename, so a crash never leaves half a file) and applies a validated table. */
  async update(config: SimulcastConfig): Promise<void> {
    await mkdir(dirname(this.#file), { recursive: true });
    const temporary = `${this.#file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, 'utf8');
    await rename(temporary, this.#file);
    this.#current = config;
    this.emit('changed', config);
  }
}
