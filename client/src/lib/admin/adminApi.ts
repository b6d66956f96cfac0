import {
  type AuditEntry,
  auditResponseSchema,
  type BanRecord,
  type BanRequest,
  banRecordSchema,
  bansResponseSchema,
  type ReportGroup,
  reportsResponseSchema,
  type SafetySettings,
  type SimulcastConfig,
  type Status,
  type StatusHistory,
  safetySettingsSchema,
  simulcastConfigSchema,
  statusHistorySchema,
  statusSchema,
} from '@meetopia/protocol';

/** What a refused admin request says: the HTTP status and the server's sentence. */
export class AdminApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'AdminApiError';
    this.status = status;
  }
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** The admin HTTP API (`/api/admin`, bearer token) and the public `/status`, with validated answers. */
export class AdminApi {
  readonly #token: string;
  readonly #name: string;

  /** `name` goes into the server's audit log with each change. */
  constructor(token: string, name = '') {
    this.#token = token;
    // Header values must be plain ASCII; the server keeps the same characters for its audit log.
    this.#name = name.replace(/[^\w .@-]/g, '').slice(0, 64);
  }

  async simulcast(): Promise<SimulcastConfig> {
    return simulcastConfigSchema.parse(await this.#call('GET', '/api/admin/simulcast'));
  }

  /** Saves a layer table; the server validates it again and refuses bad values with a sentence. */
  async saveSimulcast(config: SimulcastConfig): Promise<SimulcastConfig> {
    return simulcastConfigSchema.parse(await this.#call('PUT', '/api/admin/simulcast', config));
  }

  /** /status samples of the last 15 minutes (only those after `since`, when given). */
  async history(since?: number): Promise<StatusHistory> {
    const query = since === undefined ? '' : `?since=${Math.floor(since)}`;
    return statusHistorySchema.parse(await this.#call('GET', `/api/admin/history${query}`));
  }

  /** Reports, newest first, grouped by who was reported. */
  async reports(): Promise<ReportGroup[]> {
    return reportsResponseSchema.parse(await this.#call('GET', '/api/admin/reports')).groups;
  }

  /** Bans in force. */
  async bans(): Promise<BanRecord[]> {
    return bansResponseSchema.parse(await this.#call('GET', '/api/admin/bans')).bans;
  }

  async ban(request: BanRequest): Promise<BanRecord> {
    return banRecordSchema.parse(await this.#call('POST', '/api/admin/bans', request));
  }

  /** Lifts a ban early; `reason` goes into the audit log. */
  async unban(banId: string, reason: string): Promise<void> {
    await this.#call('DELETE', `/api/admin/bans/${encodeURIComponent(banId)}`, { reason });
  }

  async safety(): Promise<SafetySettings> {
    return safetySettingsSchema.parse(await this.#call('GET', '/api/admin/safety'));
  }

  async saveSafety(settings: SafetySettings): Promise<SafetySettings> {
    return safetySettingsSchema.parse(await this.#call('PUT', '/api/admin/safety', settings));
  }

  /** Admin actions, newest first. */
  async audit(): Promise<AuditEntry[]> {
    return auditResponseSchema.parse(await this.#call('GET', '/api/admin/audit')).entries;
  }

  static async status(): Promise<Status> {
    const response = await fetch('/status', { cache: 'no-store' });
    if (!response.ok) throw new AdminApiError(response.status, `status: HTTP ${response.status}`);
    return statusSchema.parse(await response.json());
  }

  async #call(method: Method, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (this.#name) headers['x-admin-name'] = this.#name;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const message =
        typeof json === 'object' && json !== null && 'error' in json && typeof json.error === 'string'
          ? json.error
          : `HTTP ${response.status}`;
      throw new AdminApiError(response.status, message);
    }
    return json;
  }
}
