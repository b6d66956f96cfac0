import {
  type BanInfo,
  type ChatMessage,
  ErrorCode,
  type MediaMode,
  ProtocolError,
  type ReportReason,
  type SearchStage,
  type Shared,
  type TextModeReason,
  type UnmatchReason,
} from '@meetopia/protocol';
import type { types } from 'mediasoup';

type MediaKind = types.MediaKind;

import type { Logger } from '../logger.js';
import { networkOf } from '../quality/networkClass.js';
import type { Safety } from '../safety/Safety.js';
import { Pair } from '../session/Pair.js';
import type { Session } from '../session/Session.js';
import { PairMedia } from '../sfu/PairMedia.js';
import type { ProducerPipes } from '../sfu/ProducerPipes.js';
import type { MatchQueue, MatchQueueEvents } from '../store/MatchQueue.js';
import type { MatchedPair } from './Matcher.js';
import type { MatchTicket } from './score.js';

export type LobbyOptions = {
  now: () => number;
  pipes: ProducerPipes;
  safety: Safety;
  logger: Logger;
  /** Builds the queue (in process, or a shared store); the lobby hands it its event handlers. */
  createQueue: (events: MatchQueueEvents) => MatchQueue;
  /** Where this instance runs (with a shared store): tickets carry it, matching prefers it. */
  place?: { instance: string; region?: string };
  /** Live sessions of these identity keys (to apply a ban to whoever is connected). */
  sessionsOf: (keys: readonly string[]) => Session[];
  /** How long after a conversation its partner can still be reported or blocked. */
  reportAfterMs: number;
  /** Hands every new video consumer, the session receiving it and its producer to layer adaptation. */
  onVideoConsumer?: (consumer: types.Consumer, receiver: Session, producer: types.Producer) => void;
  /** Called with each new pair, the time its members waited and its score, for metrics. */
  onMatched?: (pair: Pair, waitedMs: readonly number[], match: MatchedPair) => void;
  /** Called when a user switches from video to text (no camera, refused, media failed), for metrics. */
  onTextFallback?: (reason: TextModeReason | undefined) => void;
};

/** Chat lines of a conversation kept for a report (the rules say so); never video. */
const REPORT_EXCERPT_LINES = 20;

/**
 * Start / Next / Stop from either side at any moment, the pairs they produce, and what users do
 * to a partner (report, block). Only users with a live socket are in the queue; a user in
 * standby keeps their pair (or their wish to be matched) until they come back or their window
 * ends. Who meets whom is the queue's business (the pure Matcher behind `MatchQueue`).
 */
export class Lobby {
  readonly #options: LobbyOptions;
  readonly #logger: Logger;
  readonly #queue: MatchQueue;
  /** Waiting sessions by id (the queue knows tickets; the lobby knows sessions). */
  readonly #waiting = new Map<string, Session>();
  readonly #pairs = new Set<Pair>();

  constructor(options: LobbyOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#queue = options.createQueue({
      onPaired: (pair) => this.#onPaired(pair),
      onStage: (id, stage) => this.#waiting.get(id)?.notify({ type: 'waiting', stage }),
    });
  }

  get waiting(): number {
    return this.#queue.size;
  }

  get pairs(): ReadonlySet<Pair> {
    return this.#pairs;
  }

  get queue(): MatchQueue {
    return this.#queue;
  }

  isWaiting(session: Session): boolean {
    return this.#queue.has(session.id);
  }

  async start(session: Session): Promise<void> {
    if (session.pair) throw new ProtocolError(ErrorCode.OutOfOrder, 'already matched: use next or stop');
    if (session.wantsMatch) throw new ProtocolError(ErrorCode.OutOfOrder, 'already waiting for a partner');
    if (!session.rulesAccepted) {
      throw new ProtocolError(ErrorCode.RulesNotAccepted, 'confirm the rules (and that you are 18 or older) first');
    }
    const ban = await this.#options.safety.activeBan(session.identity, session.knownBan);
    session.knownBan = ban;
    if (ban) {
      const left = ban.until - this.#options.now();
      throw new ProtocolError(ErrorCode.Banned, `banned for ${describeDuration(left)}: ${ban.reason}`, {
        retryAfterMs: Math.max(0, left),
      });
    }
    if (session.wantsMatch || session.pair) return;
    session.wantsMatch = true;
    session.searchingSince = this.#options.now();
    await this.#enqueue(session);
  }

  async next(session: Session): Promise<void> {
    const pair = session.pair;
    if (!pair) {
      throw new ProtocolError(
        ErrorCode.OutOfOrder,
        session.wantsMatch ? 'not matched yet: already waiting' : 'not started: send start first',
      );
    }
    await this.#moveOn(session, pair, 'you-skipped');
  }

  async stop(session: Session): Promise<void> {
    if (!session.wantsMatch) throw new ProtocolError(ErrorCode.OutOfOrder, 'not started');
    await this.#leave(session, 'peer-left');
  }

  /** The session is gone for good (page closed, standby expired): its partner is told and re-queued first. */
  async remove(session: Session, partnerReason: 'peer-left' | 'peer-timeout'): Promise<void> {
    if (session.wantsMatch) await this.#leave(session, partnerReason);
  }

  /** The session's socket dropped: it leaves the queue but keeps its pair and its wish to be matched. */
  async hold(session: Session): Promise<void> {
    await this.#dequeue(session);
  }

  /** The session's socket is back: a user who was waiting goes back ahead of newcomers, with their wait. */
  async restore(session: Session): Promise<void> {
    if (session.wantsMatch && !session.pair) await this.#enqueue(session, { priority: true });
  }

  /** New preferences: kept for the next match, and applied at once to a search under way. */
  async preferencesChanged(session: Session): Promise<void> {
    if (this.#queue.has(session.id)) await this.#enqueue(session);
  }

  /** Ends a pair because the server failed it; both members wait again, ahead of newcomers. */
  async breakPair(pair: Pair): Promise<void> {
    const [a, b] = pair.members;
    await this.#unpair(
      pair,
      new Map([
        [a, 'server-error'],
        [b, 'server-error'],
      ]),
      { skipped: false },
    );
    for (const member of pair.members) await this.#enqueue(member, { priority: true, restart: true });
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
    if (media === 'text' && session.mediaMode !== 'text' && !session.preferences.textOnly) {
      this.#options.onTextFallback?.(textReason);
    }
    session.mediaMode = media;
    session.textReason = media === 'text' ? textReason : undefined;
    session.partner?.notify({
      type: 'peerMedia',
      media,
      ...(session.textReason ? { textReason: session.textReason } : {}),
    });
  }

  /** Microphone muted or camera off (and back): the producer pauses, the partner is told. */
  async setTrackEnabled(session: Session, kind: MediaKind, enabled: boolean): Promise<void> {
    if (kind === 'audio') session.tracks = { ...session.tracks, micMuted: !enabled };
    else session.tracks = { ...session.tracks, cameraOff: !enabled };
    await session.media.setProducerPaused(kind, !enabled);
    session.partner?.notify({ type: 'peerTracks', ...session.tracks });
  }

  /**
   * Reports the current partner (or the last one, shortly after): stored with the conversation's
   * last lines, the two are blocked from each other, and the reporter moves on at once. Enough
   * distinct reporters ban the reported user (the safety policy decides).
   */
  async report(session: Session, reason: ReportReason, text: string | undefined): Promise<void> {
    const target = this.#reportable(session);
    await this.#options.safety.assertMayReport(session.identity);
    this.#blockBothWays(session, target.partnerSession);
    // The reporter moves on at once; a ban the report triggers then reaches the reported user.
    if (session.pair && session.pair.id === target.pairId) await this.#moveOn(session, session.pair, 'you-reported');
    await this.#options.safety.report({
      reporter: session.identity,
      reported: target.partner,
      reason,
      text: text && text.length > 0 ? text : null,
      chat: target.chat.slice(-REPORT_EXCERPT_LINES).map((line) => ({
        from: line.from === 'me' ? ('reporter' as const) : ('reported' as const),
        text: line.text,
        ts: line.ts,
      })),
    });
  }

  /** Never meet the current (or last) partner again; moves on when in a conversation with them. */
  async block(session: Session): Promise<void> {
    const target = this.#reportable(session);
    await this.#options.safety.block(session.identity, target.partner);
    this.#blockBothWays(session, target.partnerSession);
    if (session.pair && session.pair.id === target.pairId) await this.#moveOn(session, session.pair, 'you-blocked');
  }

  /** A ban took effect: every connected session of those keys is told and leaves matching. */
  async applyBan(keys: readonly string[], ban: BanInfo): Promise<void> {
    for (const session of this.#options.sessionsOf(keys)) {
      session.knownBan = ban;
      session.notify({ type: 'banned', ban });
      if (session.wantsMatch) await this.#leave(session, 'peer-left');
      session.logger.info({ until: ban.until }, 'banned');
    }
  }

  close(): void {
    this.#queue.close();
    for (const pair of [...this.#pairs]) pair.media.close();
    this.#pairs.clear();
  }

  /** The conversation a report or block is about: the current one, or the last within the window. */
  #reportable(session: Session): {
    pairId: string;
    partner: Session['identity'];
    partnerSession: Session;
    chat: readonly ChatMessage[];
  } {
    const pair = session.pair;
    if (pair) {
      const partner = pair.other(session);
      return { pairId: pair.id, partner: partner.identity, partnerSession: partner, chat: pair.chatFor(session) };
    }
    const last = session.lastConversation;
    if (last && this.#options.now() - last.endedAt <= this.#options.reportAfterMs) {
      return { pairId: last.pairId, partner: last.partner, partnerSession: last.partnerSession, chat: last.chat };
    }
    throw new ProtocolError(ErrorCode.NotPaired, 'no current or recent conversation to report or block');
  }

  #blockBothWays(session: Session, other: Session): void {
    for (const key of other.identity.keys) session.blockedKeys.add(key);
    for (const key of session.identity.keys) other.blockedKeys.add(key);
  }

  /** Ends the session's pair because they moved on (Next, report, block); both wait again. */
  async #moveOn(session: Session, pair: Pair, reason: 'you-skipped' | 'you-reported' | 'you-blocked'): Promise<void> {
    const partner = pair.other(session);
    await this.#unpair(
      pair,
      new Map<Session, UnmatchReason>([
        [session, reason],
        [partner, 'peer-skipped'],
      ]),
      { skipped: true },
    );
    // The one who moved on goes first: they asked for someone new right now. The one they left
    // waits in line like anyone else.
    await this.#enqueue(session, { priority: true, restart: true });
    await this.#enqueue(partner, { restart: true });
  }

  async #leave(session: Session, partnerReason: UnmatchReason): Promise<void> {
    session.wantsMatch = false;
    session.searchingSince = null;
    await this.#dequeue(session);
    const pair = session.pair;
    if (!pair) return;
    const partner = pair.other(session);
    await this.#unpair(pair, new Map([[partner, partnerReason]]), { skipped: false });
    await this.#enqueue(partner, { priority: true, restart: true });
  }

  /** Dissolves a pair: media closed, each member told why (members without a reason are not told). */
  async #unpair(
    pair: Pair,
    reasons: ReadonlyMap<Session, UnmatchReason>,
    options: { skipped: boolean },
  ): Promise<void> {
    this.#pairs.delete(pair);
    pair.media.close();
    const now = this.#options.now();
    for (const member of pair.members) {
      if (member.pair === pair) member.pair = null;
      const partner = pair.other(member);
      member.lastConversation = {
        pairId: pair.id,
        partner: partner.identity,
        partnerSession: partner,
        chat: pair.chatFor(member).slice(-REPORT_EXCERPT_LINES),
        endedAt: now,
      };
      const reason = reasons.get(member);
      if (reason) member.notify({ type: 'unmatched', reason });
    }
    const [a, b] = pair.members;
    await this.#queue.parted(personOf(a), personOf(b), options);
    this.#logger.info({ pairId: pair.id, reasons: [...reasons.values()] }, 'pair ended');
  }

  /** Queues a session that wants a partner and is online; tells it that it is waiting. */
  async #enqueue(session: Session, options: { priority?: boolean; restart?: boolean } = {}): Promise<void> {
    if (!session.wantsMatch || session.closed || session.presence === 'standby' || session.pair) return;
    if (options.restart || session.searchingSince === null) session.searchingSince = this.#options.now();
    this.#waiting.set(session.id, session);
    session.notify({ type: 'waiting' });
    await this.#queue.enqueue(this.#ticketOf(session, options.priority ?? false));
  }

  async #dequeue(session: Session): Promise<void> {
    this.#waiting.delete(session.id);
    await this.#queue.dequeue(session.id);
  }

  #ticketOf(session: Session, priority: boolean): MatchTicket {
    const { preferences } = session;
    const { network, relayed } = networkOf(session.quality.report, session.socket?.rttMs ?? null);
    return {
      id: session.id,
      keys: session.identity.keys,
      person: personOf(session),
      interests: preferences.interests,
      language: preferences.language,
      country: session.country,
      countryPreference: preferences.countryPreference,
      textOnly: preferences.textOnly,
      media: session.mediaMode,
      network,
      relayed,
      since: session.searchingSince ?? this.#options.now(),
      priority,
      newcomer: session.matchCount === 0,
      blocked: session.blockedKeys,
      location: { worker: String(session.media.worker.index), ...this.#options.place },
    };
  }

  #onPaired(match: MatchedPair): void {
    const a = this.#waiting.get(match.a.id);
    const b = this.#waiting.get(match.b.id);
    this.#waiting.delete(match.a.id);
    this.#waiting.delete(match.b.id);
    // A side that went away while the round ran goes back to the queue's other side.
    if (!a || !b || a.pair || b.pair || a.closed || b.closed) {
      this.#logger.warn({ a: match.a.id, b: match.b.id }, 'paired a user who is gone; re-queueing the other');
      for (const session of [a, b]) if (session && !session.closed) void this.#enqueue(session, { priority: true });
      return;
    }
    const now = this.#options.now();
    const waitedMs = [a, b].map((session) => now - (session.searchingSince ?? now));
    a.searchingSince = null;
    b.searchingSince = null;
    this.#pairUp(a, b, waitedMs, match);
  }

  #pairUp(a: Session, b: Session, waitedMs: readonly number[], match: MatchedPair): void {
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
    // The country is shown only when both asked for their own country first.
    const bothAsked = a.preferences.countryPreference === 'same' && b.preferences.countryPreference === 'same';
    const shared: Shared = {
      interests: [...match.scored.sharedInterests],
      country: bothAsked ? match.scored.sameCountry : null,
    };
    for (const member of pair.members) {
      const other = pair.other(member);
      member.matchCount += 1;
      this.#options.safety.noteConversation(member.identity.keys);
      member.notify({
        type: 'matched',
        pairId: pair.id,
        peer: {
          media: other.mediaMode,
          ...(other.textReason ? { textReason: other.textReason } : {}),
          connected: true,
          micMuted: other.tracks.micMuted,
          cameraOff: other.tracks.cameraOff,
        },
        shared,
      });
    }
    this.#logger.info(
      { pairId: pair.id, sessions: [a.id, b.id], score: match.scored.score, stages: match.stages },
      'paired',
    );
    this.#options.onMatched?.(pair, waitedMs, match);
    void media.sync();
  }
}

/** Who a session is for "recent partners": its device, else the session itself (never the address). */
function personOf(session: Session): string {
  return session.identity.device === null ? `s:${session.id}` : `d:${session.identity.device}`;
}

/** "2 h 5 min", "45 s": for ban messages. */
export function describeDuration(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${seconds} s`;
}

export type { SearchStage };
