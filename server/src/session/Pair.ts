import { randomUUID } from 'node:crypto';
import { type ChatMessage, MAX_CHAT_HISTORY } from '@meetopia/protocol';
import type { PairMedia } from '../sfu/PairMedia.js';
import type { Session } from './Session.js';

type ChatEntry = { messageId: string; senderId: string; clientMessageId: string; text: string; ts: number };

/** Two matched users, their conversation's chat history and the media routed between them. */
export class Pair {
  readonly id = randomUUID();
  readonly members: readonly [Session, Session];
  readonly media: PairMedia<Session>;
  readonly createdAt: number;
  readonly #chat: ChatEntry[] = [];

  constructor(a: Session, b: Session, media: PairMedia<Session>, now: number) {
    this.members = [a, b];
    this.media = media;
    this.createdAt = now;
  }

  other(session: Session): Session {
    const [a, b] = this.members;
    return session === a ? b : a;
  }

  /** Whether this sender already sent the line with this client id (a re-send after a resume). */
  hasChat(sender: Session, clientMessageId: string): boolean {
    return this.#chat.some((entry) => entry.senderId === sender.id && entry.clientMessageId === clientMessageId);
  }

  /**
   * Records a chat line. A line re-sent after a resume (same sender and client id) is not
   * recorded twice: the first copy is returned with `duplicate: true` and must not be relayed again.
   */
  addChat(
    sender: Session,
    clientMessageId: string,
    text: string,
    now: number,
  ): { entry: ChatEntry; duplicate: boolean } {
    const existing = this.#chat.find(
      (entry) => entry.senderId === sender.id && entry.clientMessageId === clientMessageId,
    );
    if (existing) return { entry: existing, duplicate: true };
    const entry = { messageId: randomUUID(), senderId: sender.id, clientMessageId, text, ts: now };
    this.#chat.push(entry);
    if (this.#chat.length > MAX_CHAT_HISTORY) this.#chat.shift();
    return { entry, duplicate: false };
  }

  /** The history as one member sees it. */
  chatFor(viewer: Session): ChatMessage[] {
    return this.#chat.map((entry) => Pair.chatView(entry, viewer));
  }

  static chatView(entry: ChatEntry, viewer: Session): ChatMessage {
    return {
      messageId: entry.messageId,
      from: entry.senderId === viewer.id ? 'me' : 'peer',
      text: entry.text,
      ts: entry.ts,
    };
  }
}
