import type { TextModeReason } from '@meetopia/protocol';

export type LocalMediaResult =
  | { ok: true; stream: MediaStream }
  | { ok: false; reason: TextModeReason; detail: string };

export type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

/** The camera and microphone the user chose before (or just now); empty: the browser's default. */
export type DeviceChoice = { cameraId?: string; micId?: string };

const audioProcessing: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};
const hd: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };

const defaultGetUserMedia: GetUserMedia = (constraints) => navigator.mediaDevices.getUserMedia(constraints);

/** Video constraints for a camera: `exact` when the user just picked it, `ideal` for a remembered one that may be gone. */
export function videoConstraints(deviceId: string | undefined, exact = false): MediaTrackConstraints {
  return deviceId ? { ...hd, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } } : hd;
}

export function audioConstraints(deviceId: string | undefined, exact = false): MediaTrackConstraints {
  return deviceId
    ? { ...audioProcessing, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } }
    : audioProcessing;
}

/**
 * Opens camera and microphone: 720p30 ideal, then any camera, then camera without microphone.
 * A missing camera or a refusal is not an error for the product: the caller switches to text
 * mode with the returned reason.
 */
export async function openLocalMedia(
  getUserMedia: GetUserMedia = defaultGetUserMedia,
  choice: DeviceChoice = {},
): Promise<LocalMediaResult> {
  const attempts: MediaStreamConstraints[] = [
    { video: videoConstraints(choice.cameraId), audio: audioConstraints(choice.micId) },
    { video: true, audio: audioConstraints(choice.micId) },
    { video: videoConstraints(choice.cameraId), audio: false },
  ];
  let lastError: unknown = null;
  for (const constraints of attempts) {
    try {
      return { ok: true, stream: await getUserMedia(constraints) };
    } catch (error) {
      lastError = error;
      // A refusal will not change with other constraints.
      if (isNamed(error, 'NotAllowedError') || isNamed(error, 'SecurityError')) break;
    }
  }
  return {
    ok: false,
    reason: reasonFor(lastError),
    detail: lastError instanceof Error ? lastError.message : String(lastError),
  };
}

/** One new track from exactly this device (the user picked it in a menu). */
export async function openTrack(
  kind: 'audio' | 'video',
  deviceId: string,
  getUserMedia: GetUserMedia = defaultGetUserMedia,
): Promise<MediaStreamTrack> {
  const stream = await getUserMedia(
    kind === 'video' ? { video: videoConstraints(deviceId, true) } : { audio: audioConstraints(deviceId, true) },
  );
  const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  if (!track) throw new Error(`no ${kind} track from ${deviceId}`);
  return track;
}

function reasonFor(error: unknown): TextModeReason {
  if (isNamed(error, 'NotAllowedError') || isNamed(error, 'SecurityError')) return 'permission-denied';
  if (isNamed(error, 'NotFoundError') || isNamed(error, 'OverconstrainedError')) return 'no-camera';
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) return 'no-camera';
  return 'media-failed';
}

function isNamed(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && 'name' in error && error.name === name;
}
