import {
  type ChatMessage,
  ErrorCode,
  type MediaMode,
  ProtocolError,
  type TextModeReason,
  type UnmatchReason,
} from '@meetopia/protocol';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import { Pair } from '../session/Pair.js';
import type { Session } from '../session/Session.js';
import { PairMedia } from '../sfu/PairMedia.js';
import type { ProducerPipes } from '../sfu/ProducerPipes.js';
import { Matcher } from './Matcher.js';

export type LobbyOptions = {
  cooldownMs: number;
  now: () => number;
  pipes: ProducerPipes;
  logger: Logger;
  /** Hands every new video consumer, the session receiving it and its producer to layer adaptation. */
  onVideoConsumer?: (consumer: types.Consumer, receiver: Session, producer: types.Producer) => void;
  /** Called with each new pair and the time its members waited, for metrics. */
  onMatched?: (pair: Pair, waitedMs: readonly number[]) => void;
};

/**
 * Start / Next / Stop from either side at any moment, and the pairs they produce. Only users
 * with a live socket are in the queue; a user in standby keeps their pair (or their wish to be
 * matched) until they come back or their window ends.
 */
export class Lobby {
  readonly #matcher: Matcher<Session>;
  readonly #options: LobbyOptions;
  readonly #logger: Logger;
  /** When each waiting session entered the queue. */
  readonly #waitingSince = new Map<Session, number>();
  /** Fires when a skip cooldown ends, so that the users it kept apart can be paired. */
  #cooldownTimer: NodeJS.Timeout | undefined;
  readonly #pairs = new Set<Pair>();

  constructor(options: LobbyOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#matcher = new Matcher<Session>({
      cooldownMs: options.cooldownMs,
      now: options.now,
      // Partners on the same worker need no pipe between routers.
      prefers: (a, b) => a.media.worker === b.media.worker,
    });
  }

  get waiting(): number {
    return this.#matcher.size;
  }

  get pairs(): ReadonlySet<Pair> {
    return this.#pairs;
  }

  isWaiting(session: Session): boolean {
    return this.#matcher.has(session);
  }

  start(session: Session): void {
    if (session.pair) throw new ProtocolError(ErrorCode.OutOfOrder, 'already matched: use next or stop');
    if (session.wantsMatch) throw new ProtocolError(ErrorCode.OutOfOrder, 'already waiting for a partner');
    session.wantsMatch = true;
    this.#enqueue(session);
    this.#drain();
  }

  next(session: Session): void {
    const pair = session.pair;
    if (!pair) {
      throw new ProtocolError(
        ErrorCode.OutOfOrder,
        session.wantsMatch ? 'not matched yet: already waiting' : 'not started: send start first',
      );
    }
    const partner = pair.other(session);
    this.#unpair(
      pair,
      new Map([
        [session, 'you-skipped'],
        [partner, 'peer-skipped'],
      ]),
    );
    this.#matcher.keepApart(session, partner);
    // The one who pressed Next goes first: they asked for someone new right now. The one they
    // skipped waits in line like anyone else.
    this.#enqueue(session, { priority: true });
    this.#enqueue(partner);
    this.#drain([session, partner]);
  }

  stop(session: Session): void {
    if (!session.wantsMatch) throw new ProtocolError(ErrorCode.OutOfOrder, 'not started');
    this.#leave(session, 'peer-left');
  }

  /** The session is gone for good (page closed, standby expired): its partner is told and re-queued first. */
  remove(session: Session, partnerReason: 'peer-left' | 'peer-timeout'): void {
    if (session.wantsMatch) this.#leave(session, partnerReason);
  }

  /** The session's socket dropped: it leaves the queue but keeps its pair and its wish to be matched. */
  hold(session: Session): void {
    this.#dequeue(session);
  }

  /** The session's socket is back: a user who was waiting goes back ahead of newcomers. */
  restore(session: Session): void {
    if (session.wantsMatch && !session.pair) {
      this.#enqueue(session, { priority: true });
      this.#drain();
    }
  }

  /** Ends a pair because the server failed it; both members wait again, ahead of newcomers. */
  breakPair(pair: Pair): void {
    const [a, b] = pair.members;
    this.#unpair(
      pair,
      new Map([
        [a, 'server-error'],
        [b, 'server-error'],
      ]),
    );
    for (const member of pair.members) this.#enqueue(member, { priority: true });
    this.#drain();
  }

  chat(session: Session, pairId: string, text: string, clientMessageId: string, now: number): ChatMessage {
    const pair = session.pair;
    if (!pair || pair.id !== pairId) {
      throw new ProtocolError(ErrorCode.NotPaired, 'that conversation has ended; the message was not sent');
    }
    const { entry, duplicate } = pair.addChat(session, clientMessageId, text, now);
    const partner = pair.other(session);
    if (!duplicate) partner.notify({ type: 'chat', message: Pair.chatView(entry, partner) });
    return Pair.chatView(entry, session);
  }

  /** The user switched between video and text; the partner shows it. */
  setMediaMode(session: Session, media: MediaMode, textReason: TextModeReason | undefined): void {
    session.mediaMode = media;
    session.textReason = media === 'text' ? textReason : undefined;
    session.partner?.notify({
      type: 'peerMedia',
      media,
      ...(session.textReason ? { textReason: session.textReason } : {}),
    });
  }

  close(): void {
    clearTimeout(this.#cooldownTimer);
    for (const pair of [...this.#pairs]) pair.media.close();
    this.#pairs.clear();
  }

  #leave(session: Session, partnerReason: UnmatchReason): void {
    session.wantsMatch = false;
    this.#dequeue(session);
    const pair = session.pair;
    if (!pair) return;
    const partner = pair.other(session);
    this.#unpair(pair, new Map([[partner, partnerReason]]));
    this.#enqueue(partner, { priority: true });
    this.#drain();
  }

  /** Dissolves a pair: media closed, each member told why (members without a reason are not told). */
  #unpair(pair: Pair, reasons: ReadonlyMap<Session, UnmatchReason>): void {
    this.#pairs.delete(pair);
    pair.media.close();
    for (const member of pair.members) {
      if (member.pair === pair) member.pair = null;
      const reason = reasons.get(member);
      if (reason) member.notify({ type: 'unmatched', reason });
    }
    this.#logger.info({ pairId: pair.id, reasons: [...reasons.values()] }, 'pair ended');
  }

  /** Queues a session that wants a partner and is online; tells it that it is waiting. */
  #enqueue(session: Session, options: { priority?: boolean } = {}): void {
    if (!session.wantsMatch || session.closed || session.presence === 'standby') return;
    this.#matcher.enqueue(session, options);
    if (!this.#waitingSince.has(session)) this.#waitingSince.set(session, this.#options.now());
    session.notify({ type: 'waiting' });
  }

  #dequeue(session: Session): void {
    this.#matcher.remove(session);
    this.#waitingSince.delete(session);
  }

  #drain(avoid?: readonly [Session, Session]): void {
    const now = this.#options.now();
    for (const [a, b] of this.#matcher.drain(avoid)) {
      const waitedMs = [a, b].map((session) => now - (this.#waitingSince.get(session) ?? now));
      this.#waitingSince.delete(a);
      this.#waitingSince.delete(b);
      this.#pairUp(a, b, waitedMs);
    }
    this.#scheduleCooldownDrain();
  }

  #pairUp(a: Session, b: Session, waitedMs: readonly number[]): void {
    const { onVideoConsumer } = this.#options;
    const media = new PairMedia<Session>(
      a,
      b,
      { pipes: this.#options.pipes, ...(onVideoConsumer ? { onVideoConsumer } : {}) },
      this.#logger,
    );
    const pair = new Pair(a, b, media, this.#options.now());
    this.#pairs.add(pair);
    a.pair = pair;
    b.pair = pair;
    for (const member of pair.members) {
      const other = pair.other(member);
      member.notify({
        type: 'matched',
        pairId: pair.id,
        peer: {
          media: other.mediaMode,
          ...(other.textReason ? { textReason: other.textReason } : {}),
          connected: true,
        },
      });
    }
    this.#logger.info({ pairId: pair.id, sessions: [a.id, b.id] }, 'paired');
    this.#options.onMatched?.(pair, waitedMs);
    void media.sync();
  }

  #scheduleCooldownDrain(): void {
    clearTimeout(this.#cooldownTimer);
    this.#cooldownTimer = undefined;
    const end = this.#matcher.nextCooldownEnd();
    if (end === null || this.#matcher.size < 2) return;
    this.#cooldownTimer = setTimeout(() => this.#drain(), Math.max(0, end - this.#options.now()) + 1);
    this.#cooldownTimer.unref();
  }
}
