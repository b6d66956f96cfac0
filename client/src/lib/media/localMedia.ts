import type { TextModeReason } from '@meetopia/protocol';

export type LocalMediaResult =
  | { ok: true; stream: MediaStream }
  | { ok: false; reason: TextModeReason; detail: string };

const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Tried in order: 720p30 ideal, then any camera, then camera without microphone. */
const attempts: MediaStreamConstraints[] = [
  { video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } }, audio },
  { video: true, audio },
  { video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } }, audio: false },
];

/**
 * Opens camera and microphone. A missing camera or a refusal is not an error for the product:
 * the caller switches to text mode with the returned reason.
 */
export async function openLocalMedia(
  getUserMedia: (constraints: MediaStreamConstraints) => Promise<MediaStream> = (constraints) =>
    navigator.mediaDevices.getUserMedia(constraints),
): Promise<LocalMediaResult> {
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

function reasonFor(error: unknown): TextModeReason {
  if (isNamed(error, 'NotAllowedError') || isNamed(error, 'SecurityError')) return 'permission-denied';
  if (isNamed(error, 'NotFoundError') || isNamed(error, 'OverconstrainedError')) return 'no-camera';
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) return 'no-camera';
  return 'media-failed';
}

function isNamed(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && 'name' in error && error.name === name;
}
