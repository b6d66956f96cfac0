/** How often the level is read, ms (about 15 times a second is smooth enough for a bar). */
const SAMPLE_MS = 66;
/** The quietest level shown above zero, dBFS. */
const FLOOR_DB = -60;

/** Root mean square of audio samples in [-1, 1], as 0..1 on a decibel scale (FLOOR_DB → 0, 0 dBFS → 1). */
export function levelOf(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
}

/**
 * The microphone's loudness for a level bar, from a Web Audio AnalyserNode. Browsers start an
 * AudioContext suspended until the user interacts with the page: `resume()` is called again on
 * the first click or key.
 */
export class LevelMeter {
  readonly #onLevel: (level: number) => void;
  #context: AudioContext | null = null;
  #source: MediaStreamAudioSourceNode | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #resume = () => void this.#context?.resume().catch(() => {});

  constructor(onLevel: (level: number) => void) {
    this.#onLevel = onLevel;
  }

  /** Measures this track (the previous one is let go); null stops measuring. */
  attach(track: MediaStreamTrack | null): void {
    this.#source?.disconnect();
    this.#source = null;
    clearInterval(this.#timer);
    this.#onLevel(0);
    if (!track || typeof AudioContext === 'undefined') return;
    if (!this.#context) {
      this.#context = new AudioContext();
      window.addEventListener('pointerdown', this.#resume);
      window.addEventListener('keydown', this.#resume);
    }
    this.#resume();
    const context = this.#context;
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    this.#source = context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.#timer = setInterval(() => {
      // A disabled (muted) track reads as silence: show that, not the last value.
      if (!track.enabled || track.readyState === 'ended') return this.#onLevel(0);
      analyser.getFloatTimeDomainData(samples);
      this.#onLevel(levelOf(samples));
    }, SAMPLE_MS);
  }

  close(): void {
    this.attach(null);
    window.removeEventListener('pointerdown', this.#resume);
    window.removeEventListener('keydown', this.#resume);
    void this.#context?.close().catch(() => {});
    this.#context = null;
  }
}
