import {
  type BanInfo,
  type ChatMessage,
  ErrorCode,
  type ExperienceReport,
  type HelloResult,
  type MatchProfile,
  type MediaMode,
  type PeerInfo,
  type Phase,
  type Preferences,
  ProtocolError,
  type QualityClass,
  type ReportReason,
  type Rules,
  type SearchStage,
  type Shared,
  type TextModeReason,
  type UnmatchReason,
} from '@meetopia/protocol';
import { ExperienceTracker } from '../experience/ExperienceTracker.js';
import { t as pageTranslator } from '../i18n/current.js';
import { durationIn, type Translate } from '../i18n/i18n.js';
import type { GetUserMedia } from '../media/localMedia.js';
import { MediaSession } from '../media/MediaSession.js';
import { loadPreferences, samePreferences, savePreferences } from '../prefs/preferencesStore.js';
import { type RetryPolicy, socketRetryPolicy } from '../reconnect/backoff.js';
import { browserStorage, type KeyValueStore, loadDeviceId } from '../safety/deviceId.js';
import { RulesConsent } from '../safety/rulesConsent.js';
import type { ConnectionState } from '../signaling/connectionMachine.js';
import { type AppNotification, SignalingClient } from '../signaling/SignalingClient.js';
import { type DisplayStatus, displayStatus } from './displayStatus.js';
import { LocalMedia } from './LocalMedia.svelte.js';

/** A chat line typed while the socket was down: sent, in order, once the session is back. */
export type PendingChat = { clientMessageId: string; pairId: string; text: string };

export type ChatAppOptions = {
  url: string;
  policy?: RetryPolicy;
  getUserMedia?: GetUserMedia;
  /** Sentences in the page's language (the browser's, by default). */
  t?: Translate;
  /** Where the device id, the rules consent and the preferences are kept (localStorage by default). */
  store?: KeyValueStore | null;
};

/** How long after a conversation the last partner can still be reported (the server's window). */
const REPORT_WINDOW_MS = 5 * 60_000;
/** Experience reports kept while the socket is down (best effort, never blocking). */
const MAX_PENDING_REPORTS = 8;

/** The chat page's state: what the user sees, and the actions behind the buttons. */
export class ChatApp {
  connection = $state<ConnectionState>('idle');
  phase = $state<Phase>('idle');
  pairId = $state<string | null>(null);
  peer = $state<PeerInfo | null>(null);
  /** What the current partner and the user have in common (shown on a match). */
  shared = $state<Shared | null>(null);
  /** How wide the search is while waiting. */
  searchStage = $state<SearchStage | null>(null);
  /** While waiting: no pairs can be made for now (the service is reconnecting); the place is kept. */
  matchingHeld = $state(false);
  mediaMode = $state<MediaMode>('video');
  /** Why the user is in text mode; undefined when by choice (or in video). */
  textReason = $state<TextModeReason | undefined>(undefined);
  mediaReconnecting = $state(false);
  messages = $state.raw<ChatMessage[]>([]);
  pendingChat = $state.raw<PendingChat[]>([]);
  remoteStream = $state.raw<MediaStream | null>(null);
  quality = $state<{ self: QualityClass; peer: QualityClass }>({ self: 'unknown', peer: 'unknown' });
  /** The latest event worth a sentence (a partner left, video came back…). */
  notice = $state<string | null>(null);
  /** The site's rules (from the server) and whether this session accepted them. */
  rules = $state.raw<Rules | null>(null);
  rulesAccepted = $state(false);
  ban = $state.raw<BanInfo | null>(null);
  /** Start and Next are refused until then (the server said slow down), ms since the epoch. */
  slowDownUntil = $state<number | null>(null);
  /** What the user asked for; sent before Start and whenever it changes. */
  preferences = $state.raw<Preferences>(loadPreferences(null, undefined));
  /** What the server holds for the user (with the country it found). */
  profile = $state.raw<MatchProfile | null>(null);
  /** When the next reconnection attempt is due, ms since the epoch. */
  retryAt = $state<number | null>(null);
  /** The last conversation, while it can still be reported. */
  lastConversation = $state.raw<{ pairId: string; endedAt: number } | null>(null);
  /** A clock for countdowns (ticks while something counts down). */
  now = $state(Date.now());

  readonly status: DisplayStatus = $derived(
    displayStatus({
      connection: this.connection,
      phase: this.phase,
      peerConnected: this.peer?.connected ?? true,
      mediaReconnecting: this.mediaReconnecting,
    }),
  );
  /** The rules gate is shown: rules known, not accepted here yet. */
  readonly gateOpen: boolean = $derived(this.rules !== null && !this.rulesAccepted);
  readonly banned: boolean = $derived(this.ban !== null && this.ban.until > this.now);
  /** The current or last partner can be reported or blocked. */
  readonly reportable: boolean = $derived(
    this.phase === 'paired' ||
      (this.lastConversation !== null && this.now - this.lastConversation.endedAt < REPORT_WINDOW_MS),
  );

  readonly t: Translate;
  readonly local: LocalMedia;
  readonly signal: SignalingClient;
  readonly media: MediaSession;
  readonly #consent: RulesConsent;
  readonly #store: KeyValueStore | null;
  readonly #experience = new ExperienceTracker();
  #pendingReports: ExperienceReport[] = [];
  /** The user pressed Start and not Stop: after a server restart we queue again by ourselves. */
  #wantsMatch = false;
  /** Opening the camera and handing it to the media session (once, shared by callers). */
  #preparing: Promise<void> | null = null;
  #lastHello: HelloResult | null = null;
  #qualityTimer: ReturnType<typeof setInterval> | undefined;
  #clockTimer: ReturnType<typeof setInterval> | undefined;
  /** The remote video track whose first frame is being awaited. */
  #watchedTrack: string | null = null;

  constructor(options: ChatAppOptions) {
    this.t = options.t ?? pageTranslator;
    this.#store = options.store === undefined ? browserStorage() : options.store;
    this.#consent = new RulesConsent(this.#store);
    this.preferences = loadPreferences(this.#store, typeof navigator === 'undefined' ? undefined : navigator.language);
    this.local = new LocalMedia({
      store: this.#store,
      ...(options.getUserMedia ? { getUserMedia: options.getUserMedia } : {}),
    });
    this.signal = new SignalingClient({
      url: options.url,
      policy: options.policy ?? socketRetryPolicy,
      deviceId: loadDeviceId(this.#store),
      onState: (state) => this.#onConnection(state),
      onNotification: (notification) => this.#onNotification(notification),
      onSession: (hello) => void this.#onSession(hello),
      onRetryScheduled: (retryAt) => {
        this.retryAt = retryAt;
        this.now = Date.now();
      },
    });
    this.media = new MediaSession(this.signal, {
      onRemoteStream: (stream) => {
        this.remoteStream = stream;
        this.#watchFirstFrame(stream);
      },
      onReconnecting: (reconnecting) => {
        this.mediaReconnecting = reconnecting;
        this.#sendExperience(this.#experience.mediaReconnecting(reconnecting, performance.now()));
      },
      onMediaFailing: (failing) => void this.#onMediaFailing(failing),
    });
    this.#clockTimer = setInterval(() => this.#tick(), 250);
  }

  /** Why the user is in text mode, as a sentence (null in video, by choice, or while video is retried). */
  get textNotice(): string | null {
    if (this.mediaMode !== 'text' || !this.textReason || this.textReason === 'media-failed') return null;
    return this.t('notice.textMode', { reason: this.t(`textReason.${this.textReason}`) });
  }

  /** Connects, and opens the camera preview at once when the browser already allows it. */
  connect(): void {
    this.signal.connect();
    if (this.preferences.textOnly) {
      this.mediaMode = 'text';
      return;
    }
    void this.local.checkPermission().then((permission) => {
      if (permission === 'granted') void this.prepare();
    });
  }

  /**
   * Opens camera and microphone and hands them to the media session, which creates the send
   * transport and the producers right away: nothing of that waits for Start or a partner.
   */
  prepare(): Promise<void> {
    if (this.preferences.textOnly) return Promise.resolve();
    this.#preparing ??= (async () => {
      const result = this.media.supported ? await this.local.open() : ({ ok: false, reason: 'unsupported' } as const);
      if (result.ok) {
        // Not awaited: producing goes on in the background while the user reads and clicks.
        void this.media.setLocalStream(result.stream).catch((error: unknown) => this.#report(error));
      } else {
        await this.#switchToText(result.reason);
      }
    })();
    return this.#preparing;
  }

  /** The visitor confirmed the rules and their age: remembered here, told to the server. */
  async acceptRules(): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    this.#consent.remember(rules.version);
    this.rulesAccepted = true;
    // A click is the moment to ask for the camera, if the browser still has to ask.
    if (!this.local.tried) void this.prepare();
    await this.signal.request('acceptRules', { version: rules.version }).catch((error: unknown) => this.#report(error));
  }

  /** Opens the camera (once), then joins the queue. Without a camera the user joins in text mode. */
  async start(): Promise<void> {
    // Without accepted rules the gate is showing; Start waits behind it.
    if (this.banned || this.phase !== 'idle' || !this.rulesAccepted) return;
    this.#experience.clicked(performance.now());
    this.#wantsMatch = true;
    this.notice = null;
    if (!this.preferences.textOnly && !this.local.stream) await this.prepare();
    await this.#syncPreferences();
    await this.signal.request('start', {}).catch((error: unknown) => this.#onActionError(error));
  }

  async next(): Promise<void> {
    if (this.phase !== 'paired') return;
    this.#experience.clicked(performance.now());
    await this.signal.request('next', {}).catch((error: unknown) => this.#onActionError(error));
  }

  async stop(): Promise<void> {
    this.#wantsMatch = false;
    await this.signal.request('stop', {}).catch((error: unknown) => this.#report(error));
    this.#endConversation();
    this.phase = 'idle';
    this.notice = null;
  }

  /** Sends a chat line; while the socket is down it waits in `pendingChat`. */
  async sendChat(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed || !this.pairId) return;
    const line: PendingChat = { clientMessageId: crypto.randomUUID(), pairId: this.pairId, text: trimmed };
    this.pendingChat = [...this.pendingChat, line];
    if (this.connection === 'open') await this.#flushChat();
  }

  /** Mutes or unmutes the microphone: nothing is sent while muted, the partner sees a muted sign. */
  toggleMic(): Promise<void> {
    return this.#setTrackEnabled('audio', !this.local.micEnabled);
  }

  /** Turns the camera off or on: the partner sees a placeholder, not a frozen picture. */
  toggleCamera(): Promise<void> {
    return this.#setTrackEnabled('video', !this.local.cameraEnabled);
  }

  /** Another camera or microphone, also mid-call: the track is replaced, the call goes on. */
  async switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    try {
      const switched = await this.local.switchDevice(kind, deviceId);
      if (!switched) return;
      await this.media.replaceTrack(switched.stream, kind, switched.track);
      // The old camera or microphone is released only once the new one is being sent.
      switched.old?.stop();
    } catch (error) {
      console.warn(error);
      this.notice = this.t('notice.deviceFailed');
    }
  }

  /** New preferences: kept for the next visit and sent at once (they apply to the next match). */
  async setPreferences(preferences: Preferences): Promise<void> {
    const textOnlyChanged = preferences.textOnly !== this.preferences.textOnly;
    this.preferences = preferences;
    savePreferences(this.#store, preferences);
    if (textOnlyChanged) await this.#applyTextOnly(preferences.textOnly);
    await this.#syncPreferences();
  }

  /** Reports the current (or last) partner; the server moves the user on at once. */
  async report(reason: ReportReason, text: string): Promise<void> {
    const details = text.trim();
    await this.signal
      .request('report', details ? { reason, text: details } : { reason })
      .then(() => {
        this.lastConversation = null;
      })
      .catch((error: unknown) => this.#onSafetyError(error));
  }

  /** Never meet the current (or last) partner again. */
  async block(): Promise<void> {
    await this.signal
      .request('block', {})
      .then(() => {
        this.lastConversation = null;
      })
      .catch((error: unknown) => this.#onSafetyError(error));
  }

  retry(): void {
    this.signal.retry();
  }

  /** Reconnect now instead of waiting for the next attempt. */
  retryNow(): void {
    this.signal.retryNow();
  }

  /** The page is going away: leave cleanly so the partner is told at once. */
  dispose(): void {
    clearInterval(this.#qualityTimer);
    clearInterval(this.#clockTimer);
    this.signal.close();
    this.media.close();
    this.local.dispose();
  }

  /** Moves the countdown clock while something counts down, and lets finished countdowns go. */
  #tick(): void {
    if (this.retryAt === null && this.ban === null && this.slowDownUntil === null && !this.lastConversation) return;
    const now = Date.now();
    this.now = now;
    if (this.ban && this.ban.until <= now) this.ban = null;
    if (this.slowDownUntil !== null && this.slowDownUntil <= now) this.slowDownUntil = null;
    if (this.lastConversation && now - this.lastConversation.endedAt >= REPORT_WINDOW_MS) this.lastConversation = null;
  }

  async #setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
    this.local.setEnabled(kind, enabled);
    // The media session pauses the producer at once; the server's answer only confirms.
    await this.media.setTrackEnabled(kind, enabled).catch((error: unknown) => this.#report(error));
  }

  async #applyTextOnly(textOnly: boolean): Promise<void> {
    if (textOnly) {
      this.#preparing = null;
      this.local.close();
      await this.media.setLocalStream(null).catch((error: unknown) => this.#report(error));
      this.mediaMode = 'text';
      this.textReason = undefined;
      if (this.connection === 'open') await this.signal.request('setMediaMode', { mode: 'text' }).catch(() => {});
      return;
    }
    this.mediaMode = 'video';
    this.textReason = undefined;
    if (this.connection === 'open') await this.signal.request('setMediaMode', { mode: 'video' }).catch(() => {});
    await this.prepare();
  }

  /** Sends the preferences when the server's copy differs (idle or waiting; they apply to the next match). */
  async #syncPreferences(): Promise<void> {
    if (this.connection !== 'open' || (this.profile && samePreferences(this.profile, this.preferences))) return;
    try {
      const { profile } = await this.signal.request('setPreferences', { preferences: this.preferences });
      this.profile = profile;
    } catch (error) {
      this.#report(error);
    }
  }

  #onConnection(state: ConnectionState): void {
    const previous = this.connection;
    this.connection = state;
    const now = performance.now();
    if (previous === 'open' && state === 'reconnecting') this.#experience.socketLost(now);
    if (state === 'failed') this.#sendExperience(this.#experience.socketGaveUp(now));
  }

  async #onSession(hello: HelloResult): Promise<void> {
    const hadConversation = this.phase === 'paired';
    this.#lastHello = hello;
    const { snapshot } = hello;
    if (!hello.resumed) this.media.reset();
    this.phase = snapshot.phase;
    this.pairId = snapshot.pairId;
    this.peer = snapshot.peer;
    this.messages = snapshot.chat;
    this.rules = hello.rules;
    this.ban = hello.ban;
    this.profile = hello.profile;
    this.rulesAccepted = hello.rulesAccepted;
    this.#sendExperience(this.#experience.socketBack(hello.resumed, hadConversation, performance.now()));
    this.#startQualityReports(hello.qualityReportIntervalMs);
    if (!hello.rulesAccepted && this.#consent.accepted(hello.rules.version)) {
      this.rulesAccepted = true;
      await this.signal
        .request('acceptRules', { version: hello.rules.version })
        .catch((error: unknown) => this.#report(error));
    }
    await this.#syncPreferences();
    try {
      await this.media.setup(hello, this.local.stream);
    } catch (error) {
      this.#report(error);
    }
    if (!hello.resumed) {
      if (this.mediaMode === 'text') {
        await this.signal
          .request('setMediaMode', this.textReason ? { mode: 'text', reason: this.textReason } : { mode: 'text' })
          .catch(() => {});
      }
      // A new session after a server restart: go back to the queue if the user was in it.
      if (this.#wantsMatch && this.rulesAccepted && !this.banned) {
        await this.signal.request('start', {}).catch((error: unknown) => this.#onActionError(error));
      }
    }
    await this.#flushChat();
    this.#flushExperience();
  }

  #onNotification(notification: AppNotification): void {
    switch (notification.type) {
      case 'waiting':
        this.phase = 'waiting';
        this.pairId = null;
        this.peer = null;
        this.shared = null;
        this.searchStage = notification.stage ?? null;
        this.matchingHeld = notification.held ?? false;
        return;
      case 'matched':
        this.phase = 'paired';
        this.pairId = notification.pairId;
        this.peer = notification.peer;
        this.shared = notification.shared ?? null;
        this.searchStage = null;
        this.matchingHeld = false;
        this.messages = [];
        this.notice = null;
        this.lastConversation = null;
        this.#experience.matched(notification.pairId, performance.now());
        this.#watchFirstFrame(this.remoteStream);
        return;
      case 'unmatched':
        this.#endConversation();
        this.phase = this.#wantsMatch ? 'waiting' : 'idle';
        this.notice = this.t(`unmatched.${notification.reason}`);
        if (!isOwnMove(notification.reason)) this.#experience.requeued();
        return;
      case 'newConsumer':
        void this.media.consume(notification).catch((error: unknown) => this.#report(error));
        return;
      case 'consumerClosed':
        this.media.closeConsumer(notification.consumerId);
        return;
      case 'peerConnection':
        if (this.peer) this.peer = { ...this.peer, connected: notification.connected };
        return;
      case 'peerMedia':
        if (this.peer) {
          this.peer = {
            ...this.peer,
            media: notification.media,
            ...(notification.textReason ? { textReason: notification.textReason } : { textReason: undefined }),
          };
        }
        return;
      case 'peerTracks':
        if (this.peer) {
          this.peer = { ...this.peer, micMuted: notification.micMuted, cameraOff: notification.cameraOff };
        }
        return;
      case 'chat':
        this.messages = [...this.messages, notification.message];
        return;
      case 'iceServers':
        this.media.updateIceServers(notification.iceServers);
        return;
      case 'simulcast':
        void this.media.applySimulcast(notification.simulcast).catch((error: unknown) => this.#report(error));
        return;
      case 'quality':
        this.quality = { self: notification.self, peer: notification.peer };
        return;
      case 'banned':
        this.ban = notification.ban;
        this.now = Date.now();
        this.#wantsMatch = false;
        this.#endConversation();
        this.phase = 'idle';
        return;
      case 'mediaReset':
        this.media.reset();
        if (this.#lastHello) {
          const empty = {
            ...this.#lastHello.snapshot,
            transports: { send: null, recv: null },
            producers: [],
            consumers: [],
          };
          void this.media
            .setup({ ...this.#lastHello, snapshot: empty }, this.local.stream)
            .catch((error: unknown) => this.#report(error));
        }
        return;
      default:
        assertUnreachable(notification);
    }
  }

  /** The conversation is over (or was never there): keep it reportable for a while. */
  #endConversation(): void {
    if (this.pairId) this.lastConversation = { pairId: this.pairId, endedAt: Date.now() };
    this.pairId = null;
    this.peer = null;
    this.shared = null;
    this.#watchedTrack = null;
    this.#experience.ended();
  }

  /** Times the partner's first decoded video frame once per conversation (service levels). */
  #watchFirstFrame(stream: MediaStream | null): void {
    const pairId = this.pairId;
    const track = stream?.getVideoTracks()[0];
    if (!pairId || !track || this.#watchedTrack === track.id) return;
    this.#watchedTrack = track.id;
    void this.media.firstDecodedFrame(track.id).then((at) => {
      if (at === null || this.pairId !== pairId) return;
      this.#sendExperience(this.#experience.firstFrame(pairId, at));
      // The call's media path is known now; a call shorter than the report interval (one
      // Next away) would otherwise never say whether it went through TURN.
      this.#sendQualityReport();
    });
  }

  /** Best effort: sent when the socket is open, kept (a few) until it is; never awaited by the UI. */
  #sendExperience(report: ExperienceReport | null): void {
    if (!report) return;
    this.#pendingReports = [...this.#pendingReports, report].slice(-MAX_PENDING_REPORTS);
    this.#flushExperience();
  }

  #flushExperience(): void {
    if (this.connection !== 'open') return;
    const reports = this.#pendingReports;
    this.#pendingReports = [];
    for (const report of reports) void this.signal.request('experience', { report }).catch(() => {});
  }

  async #flushChat(): Promise<void> {
    while (this.pendingChat.length > 0 && this.connection === 'open') {
      const [line] = this.pendingChat;
      if (!line) return;
      if (line.pairId !== this.pairId) {
        this.pendingChat = this.pendingChat.slice(1);
        this.notice = this.t('notice.chatDropped');
        continue;
      }
      try {
        const { message } = await this.signal.request('chat', line);
        this.pendingChat = this.pendingChat.filter((pending) => pending !== line);
        if (!this.messages.some((existing) => existing.messageId === message.messageId)) {
          this.messages = [...this.messages, message];
        }
      } catch (error) {
        if (isConnectionError(error)) return;
        this.pendingChat = this.pendingChat.filter((pending) => pending !== line);
        if (error instanceof ProtocolError && error.code === ErrorCode.Spam) this.notice = this.t('notice.spam');
        else if (error instanceof ProtocolError && error.code === ErrorCode.RateLimited) {
          this.notice = this.t('notice.chatSlowDown');
        } else this.#report(error);
      }
    }
  }

  async #switchToText(reason: TextModeReason): Promise<void> {
    this.mediaMode = 'text';
    this.textReason = reason;
    if (this.connection === 'open') {
      await this.signal.request('setMediaMode', { mode: 'text', reason }).catch(() => {});
    }
  }

  async #onMediaFailing(failing: boolean): Promise<void> {
    if (failing && this.mediaMode === 'video') {
      this.#sendExperience(this.#experience.mediaGaveUp(performance.now()));
      await this.#switchToText('media-failed');
      this.notice = this.t('notice.mediaFailed');
    } else if (!failing && this.textReason === 'media-failed') {
      this.mediaMode = 'video';
      this.textReason = undefined;
      this.notice = this.t('notice.videoBack');
      await this.signal.request('setMediaMode', { mode: 'video' }).catch(() => {});
    }
  }

  /** Start or Next refused: the gate, a ban, or too many clicks; none of them is a disconnect. */
  #onActionError(error: unknown): void {
    if (!(error instanceof ProtocolError)) {
      this.#report(error);
      return;
    }
    switch (error.code) {
      case ErrorCode.RulesNotAccepted:
        this.rulesAccepted = false;
        this.#wantsMatch = false;
        return;
      case ErrorCode.Banned:
        this.#wantsMatch = false;
        this.ban = {
          until: Date.now() + (error.retryAfterMs ?? 0),
          reason: this.ban?.reason ?? error.message,
        };
        this.now = Date.now();
        return;
      case ErrorCode.RateLimited:
        this.slowDownUntil = Date.now() + (error.retryAfterMs ?? 1000);
        this.now = Date.now();
        this.notice = this.t('notice.slowDown', { time: durationIn(this.t, error.retryAfterMs ?? 1000) });
        if (this.phase === 'idle') this.#wantsMatch = false;
        return;
      default:
        this.#report(error);
    }
  }

  #onSafetyError(error: unknown): void {
    if (!(error instanceof ProtocolError)) {
      this.#report(error);
      return;
    }
    if (error.code === ErrorCode.NotPaired) {
      this.lastConversation = null;
      this.notice = this.t('notice.nothingToReport');
    } else if (error.code === ErrorCode.RateLimited) {
      this.notice = this.t('notice.reportLimited', { time: durationIn(this.t, error.retryAfterMs ?? 60_000) });
    } else this.#report(error);
  }

  #startQualityReports(intervalMs: number): void {
    clearInterval(this.#qualityTimer);
    this.#qualityTimer = setInterval(() => this.#sendQualityReport(), intervalMs);
  }

  #sendQualityReport(): void {
    if (this.connection !== 'open') return;
    void this.media
      .qualityReport()
      .then((report) => this.signal.request('qualityReport', { report }))
      .catch(() => {});
  }

  #report(error: unknown): void {
    if (isConnectionError(error)) return;
    console.warn(error);
  }
}

/** Reasons where the user moved on by their own action (the next match is timed from their click). */
function isOwnMove(reason: UnmatchReason): boolean {
  return reason === 'you-skipped' || reason === 'you-reported' || reason === 'you-blocked';
}

function isConnectionError(error: unknown): boolean {
  return error instanceof Error && error.name === 'SignalingError';
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled notification ${JSON.stringify(value)}`);
}
