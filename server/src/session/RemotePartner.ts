import type { MediaMode, QualityClass, TextModeReason } from '@meetopia/protocol';
import type { MatchTicket } from '../matchmaking/score.js';
import type { RemoteMedia } from '../sfu/RemoteMedia.js';
import type { SessionIdentity } from './Session.js';

/**
 * The partner of a local user when that partner's session lives on another instance: what this
 * instance knows of them (from their ticket, then from what their instance relays) and their
 * media as seen from here. Their own instance holds their socket and tells them everything.
 */
export class RemotePartner {
  readonly id: string;
  /** The instance their session lives on. */
  instance: string;
  readonly identity: SessionIdentity;
  /** Who they are for "recent partners" (their ticket's `person`). */
  readonly person: string;
  /** Replaced when their session moves to another instance. */
  media: RemoteMedia;
  mediaMode: MediaMode;
  textReason: TextModeReason | undefined;
  tracks = { micMuted: false, cameraOff: false };
  quality: { class: QualityClass } = { class: 'unknown' };
  connected = true;
  /** When their instance was found gone (they may come back on another one); null while it lives. */
  lostSince: number | null = null;
  /**
   * Whether their instance ever spoke for them. It does at once when a pair forms; one that never
   * did was paired while their instance was dying (before the matcher noticed), and is no partner.
   */
  heard = false;

  constructor(ticket: Pick<MatchTicket, 'id' | 'person' | 'keys' | 'media'>, instance: string, media: RemoteMedia) {
    this.id = ticket.id;
    this.instance = instance;
    this.person = ticket.person;
    const device = ticket.keys.find((key) => key.startsWith('d:'))?.slice(2) ?? null;
    const address = ticket.keys.find((key) => key.startsWith('a:'))?.slice(2) ?? '';
    this.identity = { device, address, keys: ticket.keys };
    this.mediaMode = ticket.media;
    this.media = media;
  }

  /** Their own instance tells them (see `Lobby`'s partner events). */
  notify(): void {}
}
