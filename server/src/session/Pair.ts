import { randomUUID } from 'node:crypto';
import { type ChatMessage, MAX_CHAT_HISTORY } from '@meetopia/protocol';
import type { PairMedia } from '../sfu/PairMedia.js';
import { RemotePartner } from './RemotePartner.js';
import type { Session } from './Session.js';

/** A member of a pair: a session of this instance, or a partner whose session is on another instance. */
export type Member = Session | RemotePartner;

export type ChatEntry = { messageId: string; senderId: string; clientMessageId: string; text: string; ts: number };

/**
 * Two matched users, their conversation's chat history and the media routed between them. When
 * the two are on different instances, each instance has its own `Pair` under the same id, with
 * its user and a `RemotePartner`; both keep the whole chat history.
 */
export class Pair {
  readonly id: string;
  readonly members: readonly [Member, Member];
  readonly media: PairMedia<Member>;
  readonly createdAt: number;
  readonly #chat: ChatEntry[] = [];

  constructor(a: Member, b: Member, media: PairMedia<Member>, now: number, id: string = randomUUID()) {
    this.id = id;
    this.members = [a, b];
    this.media = media;
    this.createdAt = now;
  }

  other(member: Member): Member {
    const [a, b] = this.members;
    return member === a ? b : a;
  }

  /** Whether this sender already sent the line with this client id (a re-send after a resume). */
  hasChat(sender: Member, clientMessageId: string): boolean {
    return this.#chat.some((entry) => entry.senderId === sender.id && entry.clientMessageId === clientMessageId);
  }

  /**
   * Records a chat line. A line re-sent after a resume (same sender and client id) is not
   * recorded twice: the first copy is returned with `duplicate: true` and must not be relayed again.
   */
  addChat(
    sender: Member,
    clientMessageId: string,
    text: string,
    now: number,
  ): { entry: ChatEntry; duplicate: boolean } {
    const existing = this.#chat.find(
      (entry) => entry.senderId === sender.id && entry.clientMessageId === clientMessageId,
    );
    if (existing) return { entry: existing, duplicate: true };
    const entry = { messageId: randomUUID(), senderId: sender.id, clientMessageId, text, ts: now };
    this.#record(entry);
    return { entry, duplicate: false };
  }

  /** A line the partner's instance recorded; false when this copy already has it. */
  recordRelayed(entry: ChatEntry): boolean {
    if (this.#chat.some((existing) => existing.messageId === entry.messageId)) return false;
    this.#record(entry);
    return true;
  }

  /** The history as recorded (to carry it into another half of this pair). */
  get chatEntries(): readonly ChatEntry[] {
    return this.#chat;
  }

  /** The history as one member sees it. */
  chatFor(viewer: Member): ChatMessage[] {
    return this.#chat.map((entry) => Pair.chatView(entry, viewer));
  }

  #record(entry: ChatEntry): void {
    this.#chat.push(entry);
    if (this.#chat.length > MAX_CHAT_HISTORY) this.#chat.shift();
  }

  static chatView(entry: ChatEntry, viewer: Member): ChatMessage {
    return {
      messageId: entry.messageId,
      from: entry.senderId === viewer.id ? 'me' : 'peer',
      text: entry.text,
      ts: entry.ts,
    };
  }
}

/** Who a member is for "recent partners": its device, else the session itself (never the address). */
export function personOf(member: Member): string {
  if (member instanceof RemotePartner) return member.person;
  return member.identity.device === null ? `s:${member.id}` : `d:${member.identity.device}`;
}
