import {
  describeIssues,
  type HistoryPoint,
  type SimulcastConfig,
  type Status,
  simulcastConfigSchema,
} from '@meetopia/protocol';
import { AdminApi, AdminApiError } from '../admin/adminApi.js';
import { mergeHistory } from '../admin/charts.js';
import { ModerationState } from '../admin/ModerationState.svelte.js';

/** One row of the layer form, in the units people think in (kbps). */
export type LayerRow = { scaleResolutionDownBy: number; maxKbps: number; maxFramerate: number; active: boolean };
/** The form: three layer rows and the transport caps, in kbps. */
export type SimulcastForm = { layers: LayerRow[]; maxIncomingKbps: number; initialOutgoingKbps: number };

const TOKEN_KEY = 'meetopia-admin-token';
const NAME_KEY = 'meetopia-admin-name';
/** How often the live status refreshes. */
const STATUS_REFRESH_MS = 2000;
/** How often the charts fetch the server's newer samples (it samples every 5 s). */
const HISTORY_REFRESH_MS = 5000;

/** The admin page's tabs. */
export type AdminTab = 'live' | 'moderation';

export function toForm(config: SimulcastConfig): SimulcastForm {
  return {
    layers: config.layers.map((layer) => ({
      scaleResolutionDownBy: layer.scaleResolutionDownBy,
      maxKbps: layer.maxBitrate / 1000,
      maxFramerate: layer.maxFramerate,
      active: layer.active,
    })),
    maxIncomingKbps: config.transport.maxIncomingBitrate / 1000,
    initialOutgoingKbps: config.transport.initialAvailableOutgoingBitrate / 1000,
  };
}

/** The form as a layer table, validated by the same schema the server uses; a sentence when invalid. */
export function fromForm(form: SimulcastForm): { ok: true; config: SimulcastConfig } | { ok: false; error: string } {
  const parsed = simulcastConfigSchema.safeParse({
    layers: form.layers.map((row) => ({
      scaleResolutionDownBy: Number(row.scaleResolutionDownBy),
      maxBitrate: Math.round(Number(row.maxKbps) * 1000),
      maxFramerate: Number(row.maxFramerate),
      active: row.active,
    })),
    transport: {
      maxIncomingBitrate: Math.round(Number(form.maxIncomingKbps) * 1000),
      initialAvailableOutgoingBitrate: Math.round(Number(form.initialOutgoingKbps) * 1000),
    },
  });
  return parsed.success ? { ok: true, config: parsed.data } : { ok: false, error: describeIssues(parsed.error) };
}

/**
 * The admin page's state: sign-in, the live status and its charts, the layer table being
 * edited, and the moderation tab.
 */
export class AdminState {
  signedIn = $state(false);
  tab = $state<AdminTab>('live');
  status = $state.raw<Status | null>(null);
  /** The server's /status samples of the last 15 minutes, oldest first (the charts' data). */
  history = $state.raw<HistoryPoint[]>([]);
  moderation = $state.raw<ModerationState | null>(null);
  /** What the server has now. */
  saved = $state.raw<SimulcastConfig | null>(null);
  form = $state<SimulcastForm | null>(null);
  error = $state<string | null>(null);
  message = $state<string | null>(null);
  busy = $state(false);
  #api: AdminApi | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #historyTimer: ReturnType<typeof setInterval> | undefined;

  /** Signs in with a token remembered from earlier in this tab, if any. */
  async resume(): Promise<void> {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) await this.signIn(token, sessionStorage.getItem(NAME_KEY) ?? '');
  }

  async signIn(token: string, name: string): Promise<void> {
    this.error = null;
    const api = new AdminApi(token.trim(), name.trim());
    try {
      const config = await api.simulcast();
      this.#api = api;
      sessionStorage.setItem(TOKEN_KEY, token.trim());
      sessionStorage.setItem(NAME_KEY, name.trim());
      this.saved = config;
      this.form = toForm(config);
      this.moderation = new ModerationState(api, {
        error: (sentence) => {
          this.message = null;
          this.error = sentence;
        },
        done: (sentence) => {
          this.error = null;
          this.message = sentence;
        },
      });
      this.signedIn = true;
      this.#startStatus();
      if (this.tab === 'moderation') void this.moderation.load();
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      this.error = error instanceof AdminApiError ? error.message : 'The server could not be reached.';
    }
  }

  signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.#api = null;
    this.signedIn = false;
    this.form = null;
    this.saved = null;
    this.history = [];
    this.moderation?.dispose();
    this.moderation = null;
    this.#stopTimers();
  }

  /** Shows a tab; the moderation tab loads its lists each time it is opened. */
  selectTab(tab: AdminTab): void {
    this.tab = tab;
    this.error = null;
    this.message = null;
    if (tab === 'moderation') void this.moderation?.load();
  }

  /** Puts the form back to what the server has. */
  revert(): void {
    if (this.saved) this.form = toForm(this.saved);
    this.error = null;
  }

  async save(): Promise<void> {
    const api = this.#api;
    if (!api || !this.form) return;
    this.message = null;
    const checked = fromForm(this.form);
    if (!checked.ok) {
      this.error = checked.error;
      return;
    }
    this.busy = true;
    try {
      this.saved = await api.saveSimulcast(checked.config);
      this.form = toForm(this.saved);
      this.error = null;
      this.message = `Saved at ${new Date().toLocaleTimeString()}: applied to every connected publisher.`;
    } catch (error) {
      this.error = error instanceof AdminApiError ? error.message : 'The server could not be reached.';
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    this.#stopTimers();
    this.moderation?.dispose();
  }

  #stopTimers(): void {
    clearInterval(this.#timer);
    clearInterval(this.#historyTimer);
  }

  #startStatus(): void {
    this.#stopTimers();
    const refresh = () => {
      AdminApi.status().then(
        (status) => {
          this.status = status;
        },
        () => {
          this.status = null;
        },
      );
    };
    refresh();
    this.#timer = setInterval(refresh, STATUS_REFRESH_MS);
    const refreshHistory = () => {
      const api = this.#api;
      if (!api) return;
      api.history(this.history.at(-1)?.at).then(
        (history) => {
          this.history = mergeHistory(this.history, history.points, history.windowMs);
        },
        () => {},
      );
    };
    refreshHistory();
    this.#historyTimer = setInterval(refreshHistory, HISTORY_REFRESH_MS);
  }
}
