import {
  type BanInfo,
  type ChatMessage,
  ErrorCode,
  type MediaMode,
  type Notification,
  ProtocolError,
  type QualityClass,
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
import { type ChatEntry, type Member, Pair, personOf } from '../session/Pair.js';
import { RemotePartner } from '../session/RemotePartner.js';
import { Session } from '../session/Session.js';
import type { InstancePipes } from '../sfu/InstancePipes.js';
import { PairMedia } from '../sfu/PairMedia.js';
import type { ProducerPipes } from '../sfu/ProducerPipes.js';
import { RemoteMedia } from '../sfu/RemoteMedia.js';
import type { InstanceRelay } from '../store/InstanceRelay.js';
import type { MatchQueue, MatchQueueEvents } from '../store/MatchQueue.js';
import type { SessionRecord, SessionStore } from '../store/SessionStore.js';
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
  /**
   * With a shared store: messages to the other instances, and the pipes that bring a partner's
   * media from theirs, for pairs whose users sit on different instances.
   */
  cluster?: {
    relay: InstanceRelay;
    pipes: InstancePipes;
    /** Where sessions and live conversations' lines are kept for another instance to take over. */
    sessions: SessionStore;
    /** How long a partner whose instance died is waited for (their standby window). */
    holdMs: number;
  };
  /** A session's pair or search changed (to be written to the shared store). */
  onChanged?: (session: Session) => void;
  /** Live sessions of these identity keys (to apply a ban to whoever is connected). */
  sessionsOf: (keys: readonly string[]) => Session[];
  /** A live session of this instance by id (for what a partner's instance relays). */
  sessionsById: (id: string) => Session | undefined;
  /** How long after a conversation its partner can still be reported or blocked. */
  reportAfterMs: number;
  /** Hands every new video consumer, the session receiving it and its producer to layer adaptation. */
  onVideoConsumer?: (consumer: types.Consumer, receiver: Session, producer: types.Producer) => void;
  /**
   * Called with each new pair, the time its members waited and its score, for metrics; `local`
   * are its members on this instance. A pair across two instances is reported by both, and
   * `counted` by only one of them (the one of its first member).
   */
  onMatched?: (
    pair: Pair,
    waitedMs: readonly number[],
    match: MatchedPair,
    sides: { local: readonly Session[]; counted: boolean },
  ) => void;
  /** Called when a user switches from video to text (no camera, refused, media failed), for metrics. */
  onTextFallback?: (reason: TextModeReason | undefined) => void;
};

/** Chat lines of a conversation kept for a report (the rules say so); never video. */
const REPORT_EXCERPT_LINES = 20;

/** How often pairs across instances are checked for a partner whose instance died. */
const PARTNER_CHECK_MS = 2000;

/** What one side of a pair shows the other: relayed whole when the partner is on another instance. */
type PartnerState = {
  media: MediaMode;
  textReason: TextModeReason | null;
  micMuted: boolean;
  cameraOff: boolean;
  quality: QualityClass;
  connected: boolean;
};

/** What happens to a pair on one instance that the partner's instance must apply to its user. */
type PartnerEvent =
  | ({ type: 'state' } & PartnerState)
  /**
   * Their session moved to this instance (theirs died or shut down, or their page came back
   * elsewhere), and shows this.
   */
  | ({ type: 'moved'; instance: string } & PartnerState)
  | { type: 'chat'; entry: ChatEntry }
  | { type: 'producers'; producers: Array<{ id: string; kind: MediaKind }> }
  | {
      type: 'unpaired';
      reason: UnmatchReason | null;
      skipped: boolean;
      /** Whether their user waits again, and whether ahead of newcomers. */
      requeue: 'no' | 'normal' | 'priority';
    };

/** A partner event on its way between instances: for session `to` in pair `pairId`. */
type PartnerMessage = { type: 'partner'; pairId: string; to: string; event: PartnerEvent };

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
  readonly #partnerCheck: NodeJS.Timeout | undefined;

  constructor(options: LobbyOptions) {
    this.#options = options;
    this.#logger = options.logger;
    if (options.cluster) {
      this.#partnerCheck = setInterval(() => void this.#checkPartnerInstances(), PARTNER_CHECK_MS);
      this.#partnerCheck.unref();
    }
    this.#queue = options.createQueue({
      onPaired: (pair, pairId) => this.#onPaired(pair, pairId),
      onStage: (id, stage) => this.#waiting.get(id)?.notify(waitingNotice(stage, this.#queue.held)),
      onHeld: (held) => {
        for (const session of this.#waiting.values())
          session.notify(waitingNotice(this.#queue.stage(session.id), held));
      },
    });
    options.cluster?.relay.onMessage((message, from) => {
      if (message.type === 'partner') this.#onPartnerMessage(message as unknown as PartnerMessage, from);
      return undefined;
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
      new Map<Member, UnmatchReason>([
        [a, 'server-error'],
        [b, 'server-error'],
      ]),
      { skipped: false, partnerRequeue: 'priority' },
    );
    for (const member of pair.members) await this.#requeue(member, { priority: true, restart: true });
  }

  chat(session: Session, pairId: string, text: string, clientMessageId: string, now: number): ChatMessage {
    const pair = session.pair;
    if (!pair || pair.id !== pairId) {
      throw new ProtocolError(ErrorCode.NotPaired, 'that conversation has ended; the message was not sent');
    }
    const { entry, duplicate } = pair.addChat(session, clientMessageId, text, now);
    const partner = pair.other(session);
    if (!duplicate) {
      partner.notify({ type: 'chat', message: Pair.chatView(entry, partner) });
      if (partner instanceof RemotePartner) this.#relay(pair.id, partner, { type: 'chat', entry });
      // Kept with the conversation, for whichever instance takes one of them over.
      this.#options.cluster?.sessions.addChat(pair.id, entry, this.#options.cluster.holdMs).catch((error: unknown) => {
        session.logger.warn({ err: error }, 'chat line not written to the shared store');
      });
    }
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
    this.relayState(session);
  }

  /** Microphone muted or camera off (and back): the producer pauses, the partner is told. */
  async setTrackEnabled(session: Session, kind: MediaKind, enabled: boolean): Promise<void> {
    if (kind === 'audio') session.tracks = { ...session.tracks, micMuted: !enabled };
    else session.tracks = { ...session.tracks, cameraOff: !enabled };
    await session.media.setProducerPaused(kind, !enabled);
    session.partner?.notify({ type: 'peerTracks', ...session.tracks });
    this.relayState(session);
  }

  /**
   * Tells a partner on another instance what this user now shows (media, tracks, network
   * quality, connection: their page is there, and its media is not being made anew after a
   * take-over); a partner here reads it from the session itself.
   */
  relayState(session: Session): void {
    const pair = session.pair;
    const partner = pair?.other(session);
    if (!pair || !(partner instanceof RemotePartner)) return;
    this.#relay(pair.id, partner, { type: 'state', ...stateOf(session) });
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
    clearInterval(this.#partnerCheck);
    this.#queue.close();
    for (const pair of [...this.#pairs]) pair.media.close();
    this.#pairs.clear();
  }

  /** The conversation a report or block is about: the current one, or the last within the window. */
  #reportable(session: Session): {
    pairId: string;
    partner: Session['identity'];
    partnerSession: Member;
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

  /** One side's blocked keys are enough for matching (it checks both); the other side's too when here. */
  #blockBothWays(session: Session, other: Member): void {
    for (const key of other.identity.keys) session.blockedKeys.add(key);
    if (other instanceof Session) for (const key of session.identity.keys) other.blockedKeys.add(key);
  }

  /** Ends the session's pair because they moved on (Next, report, block); both wait again. */
  async #moveOn(session: Session, pair: Pair, reason: 'you-skipped' | 'you-reported' | 'you-blocked'): Promise<void> {
    const partner = pair.other(session);
    await this.#unpair(
      pair,
      new Map<Member, UnmatchReason>([
        [session, reason],
        [partner, 'peer-skipped'],
      ]),
      { skipped: true, partnerRequeue: 'normal' },
    );
    // The one who moved on goes first: they asked for someone new right now. The one they left
    // waits in line like anyone else.
    await this.#enqueue(session, { priority: true, restart: true });
    await this.#requeue(partner, { restart: true });
  }

  async #leave(session: Session, partnerReason: UnmatchReason): Promise<void> {
    session.wantsMatch = false;
    session.searchingSince = null;
    await this.#dequeue(session);
    const pair = session.pair;
    if (!pair) return;
    const partner = pair.other(session);
    await this.#unpair(pair, new Map([[partner, partnerReason]]), { skipped: false, partnerRequeue: 'priority' });
    await this.#requeue(partner, { priority: true, restart: true });
  }

  /**
   * Dissolves a pair: media closed, each member told why (members without a reason are not
   * told). A partner on another instance is told through it (`partnerRequeue`: whether they wait
   * again); `relayed`: this is that instance applying it, the other side having done the rest.
   */
  async #unpair(
    pair: Pair,
    reasons: ReadonlyMap<Member, UnmatchReason>,
    options: { skipped: boolean; partnerRequeue?: 'no' | 'normal' | 'priority'; relayed?: boolean },
  ): Promise<void> {
    this.#pairs.delete(pair);
    pair.media.close();
    this.#options.cluster?.sessions.forgetChat(pair.id).catch(() => {});
    const now = this.#options.now();
    for (const member of pair.members) {
      if (member instanceof RemotePartner) {
        member.media.close();
        if (options.relayed) continue;
        this.#relay(pair.id, member, {
          type: 'unpaired',
          reason: reasons.get(member) ?? null,
          skipped: options.skipped,
          requeue: options.partnerRequeue ?? 'no',
        });
        continue;
      }
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
      this.#options.onChanged?.(member);
    }
    const [a, b] = pair.members;
    // The matcher learns it once, from the instance where it was decided.
    if (!options.relayed) await this.#queue.parted(personOf(a), personOf(b), { skipped: options.skipped });
    this.#logger.info({ pairId: pair.id, reasons: [...reasons.values()] }, 'pair ended');
  }

  /** A member who waits again: here, or (on another instance) through the partner event already sent. */
  async #requeue(member: Member, options: { priority?: boolean; restart?: boolean }): Promise<void> {
    if (member instanceof Session) await this.#enqueue(member, options);
  }

  /** Queues a session that wants a partner and is online; tells it that it is waiting. */
  async #enqueue(session: Session, options: { priority?: boolean; restart?: boolean } = {}): Promise<void> {
    if (!session.wantsMatch || session.closed || session.presence === 'standby' || session.pair) return;
    if (options.restart || session.searchingSince === null) session.searchingSince = this.#options.now();
    this.#waiting.set(session.id, session);
    session.notify(waitingNotice(undefined, this.#queue.held));
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

  #onPaired(match: MatchedPair, pairId: string | undefined): void {
    const self = this.#options.place?.instance;
    const elsewhere = (ticket: MatchTicket) =>
      self !== undefined && ticket.location.instance !== undefined && ticket.location.instance !== self;
    if (elsewhere(match.a) || elsewhere(match.b)) {
      const [mine, theirs] = elsewhere(match.a) ? [match.b, match.a] : [match.a, match.b];
      this.#onPairedAcross(match, mine, theirs, pairId);
      return;
    }
    const a = this.#waiting.get(match.a.id);
    const b = this.#waiting.get(match.b.id);
    this.#waiting.delete(match.a.id);
    this.#waiting.delete(match.b.id);
    // A side that went away while the round ran goes back to the queue's other side.
    if (!a || !b || !this.#pairable(a) || !this.#pairable(b)) {
      this.#logger.warn({ a: match.a.id, b: match.b.id }, 'paired a user who is gone; re-queueing the other');
      for (const session of [a, b]) if (session && !session.closed) void this.#enqueue(session, { priority: true });
      return;
    }
    const now = this.#options.now();
    const waitedMs = [a, b].map((session) => now - (session.searchingSince ?? now));
    a.searchingSince = null;
    b.searchingSince = null;
    this.#pairUp(a, b, match, { waitedMs, pairId, counted: true });
  }

  /** A pair with this instance's user and a user of another instance (whose instance does the same). */
  #onPairedAcross(match: MatchedPair, mine: MatchTicket, theirs: MatchTicket, pairId: string | undefined): void {
    const { cluster } = this.#options;
    const instance = theirs.location.instance;
    const session = this.#waiting.get(mine.id);
    this.#waiting.delete(mine.id);
    if (!cluster || !instance || pairId === undefined) return;
    const partner = this.#remotePartner(pairId, theirs, instance);
    if (!session || !this.#pairable(session)) {
      // Gone while the round ran: the partner's instance undoes its half and they wait again.
      this.#logger.warn({ a: mine.id, b: theirs.id }, 'paired a user who is gone; the partner waits again');
      this.#relay(pairId, partner, { type: 'unpaired', reason: 'peer-left', skipped: false, requeue: 'priority' });
      if (session && !session.closed) void this.#enqueue(session, { priority: true });
      return;
    }
    const now = this.#options.now();
    const waitedMs = [match.a, match.b].map((ticket) => now - ticket.since);
    session.searchingSince = null;
    this.#pairUp(session, partner, match, { waitedMs, pairId, counted: mine === match.a });
    this.relayState(session);
  }

  /** Whether a waiting session can still take the pair a round just made for it. */
  #pairable(session: Session): boolean {
    return !session.pair && !session.closed;
  }

  #pairUp(
    a: Session,
    b: Member,
    match: MatchedPair,
    options: { waitedMs: readonly number[]; pairId: string | undefined; counted: boolean },
  ): void {
    const media = this.#pairMedia(a, b);
    const pair = new Pair(a, b, media, this.#options.now(), options.pairId);
    this.#pairs.add(pair);
    // The country is shown only when both asked for their own country first.
    const bothAsked = match.a.countryPreference === 'same' && match.b.countryPreference === 'same';
    const shared: Shared = {
      interests: [...match.scored.sharedInterests],
      country: bothAsked ? match.scored.sameCountry : null,
    };
    const local: Session[] = [];
    for (const member of pair.members) {
      if (!(member instanceof Session)) continue;
      local.push(member);
      member.pair = pair;
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
      b instanceof RemotePartner ? 'paired with a user of another instance' : 'paired',
    );
    this.#options.onMatched?.(pair, options.waitedMs, match, { local, counted: options.counted });
    for (const member of local) this.#options.onChanged?.(member);
    void media.sync();
  }

  /**
   * Pairs whose partner's instance stopped sending heartbeats (it died): the partner may come
   * back on another instance (their page reconnects and resumes there), so the user here sees
   * them reconnecting and the pair is held for the partner's standby window; after it the user
   * is told the partner timed out and waits again, ahead of newcomers.
   */
  async #checkPartnerInstances(): Promise<void> {
    const { cluster } = this.#options;
    if (!cluster) return;
    const across = this.#pairsAcross();
    const piped = cluster.pipes.instances();
    if (across.length === 0 && piped.size === 0) return;
    let alive: Set<string>;
    try {
      alive = await cluster.relay.alive([...across.map(({ partner }) => partner.instance), ...piped]);
    } catch {
      return; // Redis away: nobody can tell, and calls go on meanwhile.
    }
    // Pipes with a dead instance carry nothing any more (their pairs moved on or are held below).
    for (const instance of piped) if (!alive.has(instance)) cluster.pipes.dropInstance(instance);
    const now = this.#options.now();
    for (const { pair, session, partner } of across) {
      if (alive.has(partner.instance) || session.pair !== pair) continue;
      if (!partner.heard) {
        // Paired with someone whose instance was already dying: not a conversation to hold.
        await this.#unpair(pair, new Map([[session, 'peer-left']]), { skipped: false, relayed: true });
        await this.#enqueue(session, { priority: true, restart: true });
        continue;
      }
      if (partner.lostSince === null) {
        partner.lostSince = now;
        this.#logger.warn(
          { pairId: pair.id, instance: partner.instance },
          "the partner's instance is gone; holding the pair",
        );
        pair.media.dropFrom(partner);
        if (partner.connected) {
          partner.connected = false;
          session.notify({ type: 'peerConnection', connected: false });
        }
        continue;
      }
      if (now - partner.lostSince < cluster.holdMs) continue;
      await this.#unpair(pair, new Map([[session, 'peer-timeout']]), { skipped: false, relayed: true });
      await this.#enqueue(session, { priority: true, restart: true });
    }
  }

  /** This instance's halves of pairs across instances. */
  #pairsAcross(): Array<{ pair: Pair; session: Session; partner: RemotePartner }> {
    return [...this.#pairs].flatMap((pair) => {
      const [a, b] = pair.members;
      const partner = a instanceof RemotePartner ? a : b instanceof RemotePartner ? b : undefined;
      const session = a instanceof Session ? a : b instanceof Session ? b : undefined;
      return partner && session ? [{ pair, session, partner }] : [];
    });
  }

  /**
   * The partner's session now lives on `instance`: the media piped from where they were is
   * dropped, this side's producers are announced there, and this user's state is sent there.
   */
  #partnerMoved(session: Session, pair: Pair, partner: RemotePartner, instance: string): void {
    pair.media.dropFrom(partner);
    this.#rehome(pair.id, partner, instance);
    partner.lostSince = null;
    this.#logger.info({ pairId: pair.id, instance }, "the partner's session moved to another instance");
    void pair.media.sync();
    this.relayState(session);
  }

  /**
   * A session taken over from another instance was in a conversation: this instance's half of it
   * is rebuilt from the records (the partner's record says where they are now, and the chat lines
   * come from the store), and the partner's instance is told where this user is now.
   */
  async adoptPair(
    session: Session,
    record: NonNullable<SessionRecord['pair']>,
    from: { instance: string; handedOver: boolean },
  ): Promise<void> {
    const { cluster } = this.#options;
    if (!cluster) return;
    // The half is there at once, the partner away where the record last saw them: a `moved` from
    // them that arrives while the records load finds it.
    const partner = this.#remotePartner(record.id, record.partner, record.partner.instance);
    partner.heard = true;
    partner.connected = false;
    partner.lostSince = this.#options.now();
    const pair = this.#halfPair(session, partner, record.id, record.createdAt);
    const [theirs, chat] = await Promise.all([
      cluster.sessions.load(record.partner.id),
      cluster.sessions.chat(record.id),
    ]);
    for (const entry of chat) pair.recordRelayed(entry);
    if (!theirs || theirs.pair?.id !== record.id) {
      // The partner left meanwhile: the conversation is over (the page learns it from its snapshot).
      this.#pairs.delete(pair);
      pair.media.close();
      session.pair = null;
      return;
    }
    partner.mediaMode = theirs.mediaMode;
    partner.textReason = theirs.textReason ?? undefined;
    partner.tracks = theirs.tracks;
    // Where they are now, unless they said so themselves meanwhile.
    if (partner.lostSince !== null) {
      const alive = await cluster.relay.alive([theirs.instance]).catch(() => new Set<string>());
      // Away: on the instance this user came from, which did not hand them over (it died), or on
      // another that died; until their page comes back somewhere.
      const away = !alive.has(theirs.instance) || (theirs.instance === from.instance && !from.handedOver);
      if (!away && partner.lostSince !== null) {
        if (theirs.instance !== partner.instance) this.#rehome(pair.id, partner, theirs.instance);
        partner.lostSince = null;
        partner.connected = true;
        this.#relay(pair.id, partner, { type: 'moved', instance: cluster.relay.self, ...stateOf(session) });
      }
    }
    this.relayState(session);
    void pair.media.sync();
  }

  /** Points a partner on another instance at the instance that now holds them: media from there. */
  #rehome(pairId: string, partner: RemotePartner, instance: string): void {
    partner.media.close();
    partner.instance = instance;
    partner.media = this.#remoteMedia(pairId, () => partner, instance);
  }

  /**
   * After a taken-over session's record says where it is now: a partner it found away may have
   * been taken over at the same moment (both were on the instance that died), and read this
   * user's old record. Of two sessions that each write their record and then read the other's, at
   * least one sees the other's new place; it takes that place and tells them where it is.
   */
  async confirmPartner(session: Session): Promise<void> {
    const { cluster } = this.#options;
    const pair = session.pair;
    const partner = pair?.other(session);
    if (!cluster || !pair || !(partner instanceof RemotePartner) || partner.lostSince === null) return;
    const theirs = await cluster.sessions.load(partner.id);
    if (!theirs || theirs.pair?.id !== pair.id || session.pair !== pair) return;
    // Their record still names the instance this user found them lost on: nothing new.
    if (theirs.instance === partner.instance) return;
    const alive = await cluster.relay.alive([theirs.instance]).catch(() => new Set<string>());
    if (!alive.has(theirs.instance) || partner.lostSince === null) return;
    this.#partnerMoved(session, pair, partner, theirs.instance);
    this.#relay(pair.id, partner, { type: 'moved', instance: cluster.relay.self, ...stateOf(session) });
  }

  /**
   * The session moves to another instance (its page came back there): it leaves this one
   * quietly. A partner here keeps the conversation, now with a partner on that instance.
   */
  async detach(session: Session, instance: string): Promise<void> {
    await this.#dequeue(session);
    const pair = session.pair;
    if (!pair) return;
    this.#pairs.delete(pair);
    pair.media.close();
    session.pair = null;
    const partner = pair.other(session);
    if (!(partner instanceof Session)) return; // their instance hears of the move from the new one
    const moved = this.#remotePartner(
      pair.id,
      { id: session.id, person: personOf(session), keys: session.identity.keys, media: session.mediaMode },
      instance,
    );
    moved.textReason = session.textReason;
    moved.tracks = session.tracks;
    moved.connected = false;
    moved.heard = true;
    const half = this.#halfPair(partner, moved, pair.id, pair.createdAt);
    for (const entry of pair.chatEntries) half.recordRelayed(entry);
    partner.notify({ type: 'peerConnection', connected: false });
    void half.media.sync();
  }

  /** This instance's half of a pair whose other member is on another instance. */
  #halfPair(session: Session, partner: RemotePartner, pairId: string, createdAt: number): Pair {
    const pair = new Pair(session, partner, this.#pairMedia(session, partner), createdAt, pairId);
    this.#pairs.add(pair);
    session.pair = pair;
    return pair;
  }

  #pairMedia(a: Member, b: Member): PairMedia<Member> {
    const { onVideoConsumer } = this.#options;
    return new PairMedia<Member>(
      a,
      b,
      {
        pipes: this.#options.pipes,
        ...(onVideoConsumer
          ? {
              onVideoConsumer: (consumer, receiver, producer) => {
                if (receiver instanceof Session) onVideoConsumer(consumer, receiver, producer);
              },
            }
          : {}),
      },
      this.#logger,
    );
  }

  /** Sends a partner event to the instance of a partner who is not here. */
  #relay(pairId: string, partner: RemotePartner, event: PartnerEvent): void {
    const message: PartnerMessage = { type: 'partner', pairId, to: partner.id, event };
    this.#options.cluster?.relay.send(partner.instance, message).catch((error: unknown) => {
      this.#logger.warn({ err: error, pairId, event: event.type }, 'partner event not relayed');
    });
  }

  /** A partner on another instance, whose instance hears of this side's producers. */
  #remotePartner(
    pairId: string,
    who: Pick<MatchTicket, 'id' | 'person' | 'keys' | 'media'>,
    instance: string,
  ): RemotePartner {
    const partner: RemotePartner = new RemotePartner(
      who,
      instance,
      this.#remoteMedia(pairId, () => partner, instance),
    );
    return partner;
  }

  #remoteMedia(pairId: string, partner: () => RemotePartner, instance: string): RemoteMedia {
    const cluster = this.#options.cluster;
    if (!cluster) throw new Error('a pair across instances needs the cluster');
    return new RemoteMedia(instance, cluster.pipes, (producers) =>
      this.#relay(pairId, partner(), {
        type: 'producers',
        producers: producers.map(({ id, kind }) => ({ id, kind })),
      }),
    );
  }

  /** A partner event from another instance, for this instance's user in that pair. */
  #onPartnerMessage(message: PartnerMessage, from: string): void {
    const session = this.#options.sessionsById(message.to);
    const pair = session?.pair;
    const partner = pair?.other(session as Session);
    // Only for the pair it names, from the instance of its partner: anything else is stale.
    if (!session || !pair || pair.id !== message.pairId || !(partner instanceof RemotePartner)) return;
    const { event } = message;
    partner.heard = true;
    if (event.type === 'moved') {
      // From the instance that now holds them (it read their record): whatever it was before.
      if (event.instance !== from) return;
      this.#partnerMoved(session, pair, partner, from);
      this.#showState(session, partner, event);
      return;
    }
    if (partner.instance !== from) return;
    switch (event.type) {
      case 'state':
        this.#showState(session, partner, event);
        return;
      case 'chat':
        if (pair.recordRelayed(event.entry)) {
          session.notify({ type: 'chat', message: Pair.chatView(event.entry, session) });
        }
        return;
      case 'producers':
        partner.media.setProducers(event.producers);
        void pair.media.sync();
        return;
      case 'unpaired':
        void (async () => {
          await this.#unpair(pair, event.reason ? new Map([[session, event.reason]]) : new Map(), {
            skipped: event.skipped,
            relayed: true,
          });
          if (event.requeue !== 'no') {
            await this.#enqueue(session, { priority: event.requeue === 'priority', restart: true });
          }
        })().catch((error: unknown) => session.logger.error({ err: error }, 'ending a pair across instances failed'));
        return;
    }
  }

  /** The partner's state as their instance relayed it: the user is told what changed. */
  #showState(session: Session, partner: RemotePartner, state: PartnerState): void {
    const textReason = state.textReason ?? undefined;
    if (state.media !== partner.mediaMode || textReason !== partner.textReason) {
      partner.mediaMode = state.media;
      partner.textReason = textReason;
      session.notify({ type: 'peerMedia', media: state.media, ...(textReason ? { textReason } : {}) });
    }
    if (state.micMuted !== partner.tracks.micMuted || state.cameraOff !== partner.tracks.cameraOff) {
      partner.tracks = { micMuted: state.micMuted, cameraOff: state.cameraOff };
      session.notify({ type: 'peerTracks', ...partner.tracks });
    }
    if (state.quality !== partner.quality.class) {
      partner.quality = { class: state.quality };
      session.notify({ type: 'quality', self: session.quality.class, peer: state.quality });
    }
    if (state.connected !== partner.connected) {
      partner.connected = state.connected;
      session.notify({ type: 'peerConnection', connected: state.connected });
    }
  }
}

/**
 * What a user shows their partner: connected means their page is there and its media is not
 * being made anew after a take-over.
 */
function stateOf(session: Session): PartnerState {
  return {
    media: session.mediaMode,
    textReason: session.textReason ?? null,
    ...session.tracks,
    quality: session.quality.class,
    connected: session.connected && !session.rebuildingMedia,
  };
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

/** What a waiting user is told: how wide the search is now, and whether matching is held. */
function waitingNotice(stage: SearchStage | undefined, held: boolean): Notification {
  return { type: 'waiting', ...(stage ? { stage } : {}), ...(held ? { held } : {}) };
}
