import type { Logger } from '../../logger.js';
import type { SettingsChannel, SharedSettingName } from '../SettingsChannel.js';
import type { MeetopiaRedis } from './connection.js';

const NAMES: readonly SharedSettingName[] = ['simulcast', 'safety'];

/**
 * Announcements on a Redis pub/sub channel, with the recovery path pub/sub needs: a subscriber
 * that reconnects treats every setting as changed (it may have missed an announcement).
 */
export class RedisSettingsChannel implements SettingsChannel {
  readonly #redis: MeetopiaRedis;
  readonly #subscriber: MeetopiaRedis;
  readonly #channel: string;
  readonly #listeners: Array<(name: SharedSettingName) => void> = [];
  readonly #origin: string;

  private constructor(redis: MeetopiaRedis, subscriber: MeetopiaRedis, channel: string, origin: string) {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#channel = channel;
    this.#origin = origin;
  }

  /** Subscribes on a connection of its own (a subscribed connection runs no other command). */
  static async open(
    redis: MeetopiaRedis,
    prefix: string,
    origin: string,
    logger: Logger,
  ): Promise<RedisSettingsChannel> {
    const subscriber = redis.duplicate();
    subscriber.on('error', () => {}); // the main connection logs outages
    const channel = new RedisSettingsChannel(redis, subscriber, `${prefix}settings`, origin);
    let connected = false;
    subscriber.on('ready', () => {
      if (connected) {
        logger.info('settings channel back: re-reading shared settings');
        for (const name of NAMES) channel.#emit(name);
      }
      connected = true;
    });
    await subscriber.connect();
    await subscriber.subscribe(channel.#channel, (message) => {
      const [origin, name] = message.split(' ');
      if (origin !== channel.#origin && NAMES.includes(name as SharedSettingName)) {
        channel.#emit(name as SharedSettingName);
      }
    });
    return channel;
  }

  async announce(name: SharedSettingName): Promise<void> {
    await this.#redis.publish(this.#channel, `${this.#origin} ${name}`);
  }

  onChange(listener: (name: SharedSettingName) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#subscriber.isOpen) this.#subscriber.destroy();
  }

  #emit(name: SharedSettingName): void {
    for (const listener of this.#listeners) listener(name);
  }
}
