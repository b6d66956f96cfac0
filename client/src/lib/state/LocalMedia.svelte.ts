import type { TextModeReason } from '@meetopia/protocol';
import { LevelMeter } from '../media/levelMeter.js';
import { type GetUserMedia, type LocalMediaResult, openLocalMedia, openTrack } from '../media/localMedia.js';
import type { KeyValueStore } from '../safety/deviceId.js';

/** A camera or microphone the user can pick. */
export type DeviceOption = { deviceId: string; label: string };

const CAMERA_KEY = 'meetopia.cameraId';
const MIC_KEY = 'meetopia.micId';

/**
 * The user's own camera and microphone: the preview stream, the devices to choose from, the
 * microphone's level, and whether the microphone is muted or the camera off.
 */
export class LocalMedia {
  stream = $state.raw<MediaStream | null>(null);
  cameras = $state.raw<DeviceOption[]>([]);
  microphones = $state.raw<DeviceOption[]>([]);
  /** The device in use (empty until the camera is open). */
  cameraId = $state('');
  micId = $state('');
  /** 0..1, for the level bar. */
  level = $state(0);
  micEnabled = $state(true);
  cameraEnabled = $state(true);
  /** Why there is no camera (null while it works or was not tried yet). */
  failure = $state<TextModeReason | null>(null);
  /** What the browser says about camera permission: 'granted' means the preview can open without asking. */
  permission = $state<PermissionState | 'unknown'>('unknown');

  readonly #getUserMedia: GetUserMedia | undefined;
  readonly #store: KeyValueStore | null;
  readonly #meter = new LevelMeter((level) => {
    this.level = level;
  });
  #opening: Promise<LocalMediaResult> | null = null;
  /** Incremented by `close()`: a camera that opens after it is let go at once. */
  #generation = 0;
  readonly #onDeviceChange = () => void this.refreshDevices();

  constructor(options: { getUserMedia?: GetUserMedia; store: KeyValueStore | null }) {
    this.#getUserMedia = options.getUserMedia;
    this.#store = options.store;
  }

  get hasAudio(): boolean {
    return (this.stream?.getAudioTracks().length ?? 0) > 0;
  }

  get hasVideo(): boolean {
    return (this.stream?.getVideoTracks().length ?? 0) > 0;
  }

  /** Whether opening the camera now would show no permission prompt. */
  async checkPermission(): Promise<PermissionState | 'unknown'> {
    try {
      const status = await navigator.permissions.query({ name: 'camera' as PermissionName });
      this.permission = status.state;
    } catch {
      this.permission = 'unknown';
    }
    return this.permission;
  }

  /** Opens camera and microphone once (concurrent callers share the attempt). */
  open(): Promise<LocalMediaResult> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  /** True once `open()` was called (whatever came of it). */
  get tried(): boolean {
    return this.#opening !== null;
  }

  /** Closes the camera and microphone (text only by choice); `open()` may open them again. */
  close(): void {
    this.#generation += 1;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.#opening = null;
    this.#meter.attach(null);
  }

  /**
   * Switches to another camera or microphone; returns the new stream and track for the media
   * session to send in place of the old one. The old track stops once the new one is live.
   */
  async switchDevice(
    kind: 'audio' | 'video',
    deviceId: string,
  ): Promise<{ stream: MediaStream; track: MediaStreamTrack; old: MediaStreamTrack | undefined } | null> {
    const current = this.stream;
    if (!current) return null;
    const old = kind === 'video' ? current.getVideoTracks()[0] : current.getAudioTracks()[0];
    if (old && old.getSettings().deviceId === deviceId) return null;
    const track = await openTrack(kind, deviceId, this.#getUserMedia);
    track.enabled = kind === 'video' ? this.cameraEnabled : this.micEnabled;
    const others = kind === 'video' ? current.getAudioTracks() : current.getVideoTracks();
    const stream = new MediaStream(kind === 'video' ? [...others, track] : [track, ...others]);
    this.stream = stream;
    this.#remember(kind, deviceId);
    if (kind === 'audio') this.#meter.attach(track);
    return { stream, track, old };
  }

  /** Records a mute or camera-off (the media session does the sending side). */
  setEnabled(kind: 'audio' | 'video', enabled: boolean): void {
    if (kind === 'audio') this.micEnabled = enabled;
    else this.cameraEnabled = enabled;
    const tracks = kind === 'audio' ? this.stream?.getAudioTracks() : this.stream?.getVideoTracks();
    for (const track of tracks ?? []) track.enabled = enabled;
  }

  async refreshDevices(): Promise<void> {
    const devices = await navigator.mediaDevices?.enumerateDevices().catch(() => []);
    if (!devices) return;
    const options = (kind: MediaDeviceKind, fallback: string) =>
      devices
        .filter((device) => device.kind === kind && device.deviceId !== '')
        .map((device, index) => ({ deviceId: device.deviceId, label: device.label || `${fallback} ${index + 1}` }));
    this.cameras = options('videoinput', 'Camera');
    this.microphones = options('audioinput', 'Microphone');
  }

  dispose(): void {
    navigator.mediaDevices?.removeEventListener?.('devicechange', this.#onDeviceChange);
    this.close();
    this.#meter.close();
  }

  async #open(): Promise<LocalMediaResult> {
    const generation = this.#generation;
    const result =
      typeof navigator === 'undefined' || !navigator.mediaDevices
        ? ({ ok: false, reason: 'unsupported', detail: 'no mediaDevices' } as const)
        : await openLocalMedia(this.#getUserMedia, {
            cameraId: this.#recall(CAMERA_KEY),
            micId: this.#recall(MIC_KEY),
          });
    if (!result.ok) {
      this.failure = result.reason;
      return result;
    }
    const { stream } = result;
    if (generation !== this.#generation) {
      for (const track of stream.getTracks()) track.stop();
      return { ok: false, reason: 'media-failed', detail: 'closed while opening' };
    }
    this.failure = null;
    for (const track of stream.getAudioTracks()) track.enabled = this.micEnabled;
    for (const track of stream.getVideoTracks()) track.enabled = this.cameraEnabled;
    this.stream = stream;
    this.cameraId = stream.getVideoTracks()[0]?.getSettings().deviceId ?? '';
    this.micId = stream.getAudioTracks()[0]?.getSettings().deviceId ?? '';
    this.#meter.attach(stream.getAudioTracks()[0] ?? null);
    navigator.mediaDevices.addEventListener?.('devicechange', this.#onDeviceChange);
    await this.refreshDevices();
    return result;
  }

  #remember(kind: 'audio' | 'video', deviceId: string): void {
    if (kind === 'video') this.cameraId = deviceId;
    else this.micId = deviceId;
    try {
      this.#store?.setItem(kind === 'video' ? CAMERA_KEY : MIC_KEY, deviceId);
    } catch {
      // Not remembered: the default device is used next time.
    }
  }

  #recall(key: string): string | undefined {
    try {
      return this.#store?.getItem(key) ?? undefined;
    } catch {
      return undefined;
    }
  }
}
