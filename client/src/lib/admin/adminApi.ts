import { type SimulcastConfig, type Status, simulcastConfigSchema, statusSchema } from '@meetopia/protocol';

/** What a refused admin request says: the HTTP status and the server's sentence. */
export class AdminApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'AdminApiError';
    this.status = status;
  }
}

/** The admin HTTP API (`/api/admin`, bearer token) and the public `/status`, with validated answers. */
export class AdminApi {
  readonly #token: string;
  readonly #name: string;

  /** `name` goes into the server's audit log with each change. */
  constructor(token: string, name = '') {
    this.#token = token;
    this.#name = name;
  }

  async simulcast(): Promise<SimulcastConfig> {
    return simulcastConfigSchema.parse(await this.#call('GET', '/api/admin/simulcast'));
  }

  /** Saves a layer table; the server validates it again and refuses bad values with a sentence. */
  async saveSimulcast(config: SimulcastConfig): Promise<SimulcastConfig> {
    return simulcastConfigSchema.parse(await this.#call('PUT', '/api/admin/simulcast', config));
  }

  static async status(): Promise<Status> {
    const response = await fetch('/status', { cache: 'no-store' });
    if (!response.ok) throw new AdminApiError(response.status, `status: HTTP ${response.status}`);
    return statusSchema.parse(await response.json());
  }

  async #call(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<unknown> {
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
