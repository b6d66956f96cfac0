import type {
  ChatMessage,
  HelloResult,
  MediaMode,
  PeerInfo,
  Phase,
  QualityClass,
  TextModeReason,
  UnmatchReason,
} from '@meetopia/protocol';
import { openLocalMedia } from '../media/localMedia.js';
import { MediaSession } from '../media/MediaSession.js';
import { type RetryPolicy, socketRetryPolicy } from '../reconnect/backoff.js';
import type { ConnectionState } from '../signaling/connectionMachine.js';
import { type AppNotification, SignalingClient } from '../signaling/SignalingClient.js';
import { type DisplayStatus, displayStatus } from './displayStatus.js';

/** A chat line typed while the socket was down: sent, in order, once the session is back. */
export type PendingChat = { clientMessageId: string; pairId: string; text: string };

export type ChatAppOptions = {
  url: string;
  policy?: RetryPolicy;
  getUserMedia?: (constraints: MediaStreamConstraints) => Promise<MediaStream>;
};

const unmatchNotice: Record<UnmatchReason, string> = {
  'you-skipped': 'You skipped. Looking for someone new…',
  'peer-skipped': 'Stranger skipped. Looking for someone new…',
  'peer-left': 'Stranger left. Looking for someone new…',
  'peer-timeout': 'Stranger lost their connection. Looking for someone new…',
  'server-error': 'The media server failed. Looking for someone new…',
};

export const textReasonNotice: Record<TextModeReason, string> = {
  'no-camera': 'no camera was found',
  'permission-denied': 'camera access was refused',
  'media-failed': 'the video connection failed',
  unsupported: 'this browser cannot do video here (it needs HTTPS and WebRTC)',
};

/** The chat page's state: what the user sees, and the actions behind the buttons. */
export class ChatApp {
  connection = $state<ConnectionState>('idle');
  phase = $state<Phase>('idle');
  pairId = $state<string | null>(null);
  peer = $state<PeerInfo | null>(null);
  mediaMode = $state<MediaMode>('video');
  textReason = $state<TextModeReason | undefined>(undefined);
  mediaReconnecting = $state(false);
  messages = $state.raw<ChatMessage[]>([]);
  pendingChat = $state.raw<PendingChat[]>([]);
  localStream = $state.raw<MediaStream | null>(null);
  remoteStream = $state.raw<MediaStream | null>(null);
  quality = $state<{ self: QualityClass; peer: QualityClass }>({ self: 'unknown', peer: 'unknown' });
  notice = $state<string | null>(null);
  readonly status: DisplayStatus = $derived(
    displayStatus({
      connection: this.connection,
      phase: this.phase,
      peerConnected: this.peer?.connected ?? true,
      mediaReconnecting: this.mediaReconnecting,
    }),
  );

  readonly signal: SignalingClient;
  readonly media: MediaSession;
  readonly #getUserMedia: ChatAppOptions['getUserMedia'];
  /** The user pressed Start and not Stop: after a server restart we queue again by ourselves. */
  #wantsMatch = false;
  #localMediaTried = false;
  #lastHello: HelloResult | null = null;
  #qualityTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ChatAppOptions) {
    this.#getUserMedia = options.getUserMedia;
    this.signal = new SignalingClient({
      url: options.url,
      policy: options.policy ?? socketRetryPolicy,
      onState: (state) => {
        this.connection = state;
      },
      onNotification: (notification) => this.#onNotification(notification),
      onSession: (hello) => void this.#onSession(hello),
    });
    this.media = new MediaSession(this.signal, {
      onRemoteStream: (stream) => {
        this.remoteStream = stream;
      },
      onReconnecting: (reconnecting) => {
        this.mediaReconnecting = reconnecting;
      },
      onMediaFailing: (failing) => void this.#onMediaFailing(failing),
    });
  }

  connect(): void {
    this.signal.connect();
  }

  /** Opens the camera (once), then joins the queue. Without a camera the user joins in text mode. */
  async start(): Promise<void> {
    this.#wantsMatch = true;
    this.notice = null;
    if (!this.#localMediaTried) {
      this.#localMediaTried = true;
      const local = this.media.supported
        ? await openLocalMedia(this.#getUserMedia)
        : ({ ok: false, reason: 'unsupported' } as const);
      if (local.ok) {
        this.localStream = local.stream;
        await this.media.setLocalStream(local.stream).catch(() => {});
      } else {
        await this.#switchToText(local.reason);
      }
    }
    await this.signal.request('start', {}).catch((error: unknown) => this.#report(error));
  }

  async next(): Promise<void> {
    if (this.phase !== 'paired') return;
    await this.signal.request('next', {}).catch((error: unknown) => this.#report(error));
  }

  async stop(): Promise<void> {
    this.#wantsMatch = false;
    await this.signal.request('stop', {}).catch((error: unknown) => this.#report(error));
    this.phase = 'idle';
    this.pairId = null;
    this.peer = null;
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

  retry(): void {
    this.signal.retry();
  }

  /** The page is going away: leave cleanly so the partner is told at once. */
  dispose(): void {
    clearInterval(this.#qualityTimer);
    this.signal.close();
    this.media.close();
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
  }

  async #onSession(hello: HelloResult): Promise<void> {
    this.#lastHello = hello;
    const { snapshot } = hello;
    if (!hello.resumed) this.media.reset();
    this.phase = snapshot.phase;
    this.pairId = snapshot.pairId;
    this.peer = snapshot.peer;
    this.messages = snapshot.chat;
    this.#startQualityReports(hello.qualityReportIntervalMs);
    try {
      await this.media.setup(hello, this.localStream);
    } catch (error) {
      this.#report(error);
    }
    if (!hello.resumed) {
      if (this.mediaMode === 'text' && this.textReason) {
        await this.signal.request('setMediaMode', { mode: 'text', reason: this.textReason }).catch(() => {});
      }
      // A new session after a server restart: go back to the queue if the user was in it.
      if (this.#wantsMatch) await this.signal.request('start', {}).catch((error: unknown) => this.#report(error));
    }
    await this.#flushChat();
  }

  #onNotification(notification: AppNotification): void {
    switch (notification.type) {
      case 'waiting':
        this.phase = 'waiting';
        this.pairId = null;
        this.peer = null;
        return;
      case 'matched':
        this.phase = 'paired';
        this.pairId = notification.pairId;
        this.peer = notification.peer;
        this.messages = [];
        this.notice = null;
        return;
      case 'unmatched':
        this.phase = this.#wantsMatch ? 'waiting' : 'idle';
        this.pairId = null;
        this.peer = null;
        this.notice = unmatchNotice[notification.reason];
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
            .setup({ ...this.#lastHello, snapshot: empty }, this.localStream)
            .catch((error: unknown) => this.#report(error));
        }
        return;
      default:
        assertUnreachable(notification);
    }
  }

  async #flushChat(): Promise<void> {
    while (this.pendingChat.length > 0 && this.connection === 'open') {
      const [line] = this.pendingChat;
      if (!line) return;
      if (line.pairId !== this.pairId) {
        this.pendingChat = this.pendingChat.slice(1);
        this.notice = 'A message typed for your previous partner was not sent.';
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
        this.#report(error);
      }
    }
  }

  async #switchToText(reason: TextModeReason): Promise<void> {
    this.mediaMode = 'text';
    this.textReason = reason;
    this.notice = `Text mode: ${textReasonNotice[reason]}.`;
    if (this.connection === 'open') {
      await this.signal.request('setMediaMode', { mode: 'text', reason }).catch(() => {});
    }
  }

  async #onMediaFailing(failing: boolean): Promise<void> {
    if (failing && this.mediaMode === 'video') {
      await this.#switchToText('media-failed');
      this.notice = 'Video connection failed — switched to text. Retrying video in the background…';
    } else if (!failing && this.textReason === 'media-failed') {
      this.mediaMode = 'video';
      this.textReason = undefined;
      this.notice = 'Video is back.';
      await this.signal.request('setMediaMode', { mode: 'video' }).catch(() => {});
    }
  }

  #startQualityReports(intervalMs: number): void {
    clearInterval(this.#qualityTimer);
    this.#qualityTimer = setInterval(() => {
      if (this.connection !== 'open') return;
      void this.media
        .qualityReport()
        .then((report) => this.signal.request('qualityReport', { report }))
        .catch(() => {});
    }, intervalMs);
  }

  #report(error: unknown): void {
    if (isConnectionError(error)) return;
    console.warn(error);
  }
}

function isConnectionError(error: unknown): boolean {
  return error instanceof Error && error.name === 'SignalingError';
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled notification ${JSON.stringify(value)}`);
}
