import type { AuditEntry, BanRecord, Identity, ReportGroup, SafetySettings } from '@meetopia/protocol';
import { type AdminApi, AdminApiError } from './adminApi.js';
import {
  banDurations,
  checkBan,
  checkUnbanReason,
  fromSafetyForm,
  type SafetyForm,
  shortHash,
  toSafetyForm,
} from './moderation.js';

/** Where the moderation tab says how an action went (the admin page's shared error and message lines). */
export type Feedback = { error(sentence: string): void; done(sentence: string): void };

/** How often "time left" on bans is brought up to date. */
const CLOCK_TICK_MS = 15_000;

/**
 * The moderation tab: reports grouped by who was reported, bans in force, banning and lifting by
 * hand, the live safety settings and the audit log. Every action is checked with the server's
 * own schemas first and sent with the admin's name (for the audit log).
 */
export class ModerationState {
  groups = $state.raw<ReportGroup[]>([]);
  bans = $state.raw<BanRecord[]>([]);
  audit = $state.raw<AuditEntry[]>([]);
  /** What the server has now. */
  safety = $state.raw<SafetySettings | null>(null);
  safetyForm = $state<SafetyForm | null>(null);
  /** Why the admin bans or lifts a ban (required by the API, kept in the audit log). */
  reason = $state('');
  durationMs = $state(banDurations[0]?.ms ?? 3_600_000);
  /** A ban by hand: the hashes shown in reports (either one may be empty). */
  device = $state('');
  address = $state('');
  loaded = $state(false);
  busy = $state(false);
  now = $state(Date.now());
  readonly #api: AdminApi;
  readonly #feedback: Feedback;
  #clock: ReturnType<typeof setInterval> | undefined;

  constructor(api: AdminApi, feedback: Feedback) {
    this.#api = api;
    this.#feedback = feedback;
  }

  /** Loads (or reloads) everything the tab shows, and keeps "time left" current. */
  async load(): Promise<void> {
    clearInterval(this.#clock);
    this.#clock = setInterval(() => {
      this.now = Date.now();
    }, CLOCK_TICK_MS);
    await this.#run(async () => {
      await this.#refresh();
      if (!this.safetyForm && this.safety) this.safetyForm = toSafetyForm(this.safety);
      this.loaded = true;
    });
  }

  /** Bans whoever a report group is about, for the chosen duration and reason. */
  async banGroup(group: ReportGroup): Promise<void> {
    await this.#ban(group.target);
  }

  /** Bans the device and/or address hashes typed in. */
  async banByHand(): Promise<void> {
    await this.#ban({ device: this.device.trim() || null, address: this.address.trim() || null });
  }

  async unban(ban: BanRecord): Promise<void> {
    const reason = checkUnbanReason(this.reason);
    if (!reason.ok) {
      this.#feedback.error(`To lift a ban, give a reason: ${reason.error}`);
      return;
    }
    await this.#run(async () => {
      await this.#api.unban(ban.id, reason.value);
      this.reason = '';
      await this.#refresh();
      this.#feedback.done(`Ban on ${describeTarget(ban.target)} lifted.`);
    });
  }

  async saveSafety(): Promise<void> {
    if (!this.safetyForm) return;
    const checked = fromSafetyForm(this.safetyForm);
    if (!checked.ok) {
      this.#feedback.error(checked.error);
      return;
    }
    await this.#run(async () => {
      this.safety = await this.#api.saveSafety(checked.value);
      this.safetyForm = toSafetyForm(this.safety);
      this.audit = await this.#api.audit();
      this.#feedback.done(`Safety settings saved at ${new Date().toLocaleTimeString()}: in force now.`);
    });
  }

  /** Puts the settings form back to what the server has. */
  revertSafety(): void {
    if (this.safety) this.safetyForm = toSafetyForm(this.safety);
  }

  dispose(): void {
    clearInterval(this.#clock);
  }

  async #ban(target: Identity): Promise<void> {
    const checked = checkBan({
      device: target.device ?? '',
      address: target.address ?? '',
      durationMs: this.durationMs,
      reason: this.reason,
    });
    if (!checked.ok) {
      this.#feedback.error(checked.error);
      return;
    }
    await this.#run(async () => {
      const ban = await this.#api.ban(checked.value);
      this.reason = '';
      await this.#refresh();
      this.#feedback.done(`Banned ${describeTarget(ban.target)} until ${new Date(ban.until).toLocaleString()}.`);
    });
  }

  async #refresh(): Promise<void> {
    const [groups, bans, audit, safety] = await Promise.all([
      this.#api.reports(),
      this.#api.bans(),
      this.#api.audit(),
      this.#api.safety(),
    ]);
    this.groups = groups;
    this.bans = bans;
    this.audit = audit;
    this.safety = safety;
    this.now = Date.now();
  }

  async #run(action: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await action();
    } catch (error) {
      this.#feedback.error(describeFailure(error));
    } finally {
      this.busy = false;
    }
  }
}

/** The sentence shown when an admin request fails: the server's own when it gave one. */
export function describeFailure(error: unknown): string {
  if (error instanceof AdminApiError) return error.message;
  if (error instanceof TypeError) return 'The server could not be reached.';
  return `The server's answer was not understood (${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}).`;
}

/** "device 1a2b3c… / address 9f8e7d…" for messages. */
export function describeTarget(target: Identity): string {
  const parts = [
    target.device === null ? null : `device ${shortHash(target.device)}`,
    target.address === null ? null : `address ${shortHash(target.address)}`,
  ].filter(Boolean);
  return parts.join(' / ') || 'nobody';
}
