import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A network namespace for one browser, joined to the host by a veth pair. Everything it uses is
 * created here (names, the 10.231.x.0/30 link) and removed by `destroy()`. Needs root.
 *
 *   host side  10.231.<n>.1  ── veth ──  10.231.<n>.2  inside the namespace (default route via .1)
 *
 * The host side address is local to the host, so a server bound to it is reachable from this
 * namespace, from other test namespaces and from the host itself.
 */
export class NetNamespace {
  readonly name: string;
  readonly hostIp: string;
  readonly nsIp: string;
  readonly #hostIf: string;
  readonly #dir: string;
  readonly #index: number;
  readonly #clients: NatClient[] = [];
  #destroyed = false;

  private constructor(index: number) {
    this.#index = index;
    const tag = `${process.pid % 10000}${index}`;
    this.name = `mt${tag}`;
    this.#hostIf = `mth${tag}`;
    this.hostIp = `10.231.${index}.1`;
    this.nsIp = `10.231.${index}.2`;
    this.#dir = mkdtempSync(join(tmpdir(), `${this.name}-`));
  }

  /** Creates namespace number `index` (1..250; each test file uses its own numbers). */
  static create(index: number): NetNamespace {
    if (process.getuid?.() !== 0) throw new Error('network namespace tests need root (CI runs as root)');
    const ns = new NetNamespace(index);
    const peerIf = `${ns.#hostIf}p`;
    try {
      run('ip', ['netns', 'add', ns.name]);
      run('ip', ['link', 'add', ns.#hostIf, 'type', 'veth', 'peer', 'name', peerIf]);
      run('ip', ['link', 'set', peerIf, 'netns', ns.name]);
      run('ip', ['addr', 'add', `${ns.hostIp}/30`, 'dev', ns.#hostIf]);
      run('ip', ['link', 'set', ns.#hostIf, 'up']);
      ns.exec('ip', ['addr', 'add', `${ns.nsIp}/30`, 'dev', peerIf]);
      ns.exec('ip', ['link', 'set', peerIf, 'up']);
      ns.exec('ip', ['link', 'set', 'lo', 'up']);
      ns.exec('ip', ['route', 'add', 'default', 'via', ns.hostIp]);
    } catch (error) {
      ns.destroy();
      throw error;
    }
    process.once('exit', () => ns.destroy());
    return ns;
  }

  /** Runs a command inside the namespace. */
  exec(command: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  /** Adds an iptables rule inside the namespace (`-A` is prepended); returns a function that removes it. */
  block(rule: string[]): () => void {
    this.exec('iptables', ['-A', ...rule]);
    let removed = false;
    return () => {
      if (removed || this.#destroyed) return;
      removed = true;
      this.exec('iptables', ['-D', ...rule]);
    };
  }

  /**
   * Limits the namespace's upload (tc tbf on its own end of the veth), e.g. '300kbit'. Returns
   * the undo. The bucket holds only a few packets by default: a large burst would let short
   * probe bursts through at line rate, which is how a policer behaves rather than a slow link.
   */
  shapeEgress(rate: string, link: LinkShape = {}): () => void {
    const dev = `${this.#hostIf}p`;
    this.exec('tc', tbf(dev, rate, link));
    return () => {
      if (!this.#destroyed) this.exec('tc', ['qdisc', 'del', 'dev', dev, 'root']);
    };
  }

  /** Limits what reaches the namespace (tc tbf on the host's end of the veth). Returns the undo. */
  shapeIngress(rate: string, link: LinkShape = {}): () => void {
    run('tc', tbf(this.#hostIf, rate, link));
    return () => {
      if (!this.#destroyed) run('tc', ['qdisc', 'del', 'dev', this.#hostIf, 'root']);
    };
  }

  /**
   * Narrows what reaches the namespace down to `kbit`, at once (`overMs` 0) or as a degrading
   * link does: 3×, 2× and 1.5× the target, spread over `overMs`, then the target. Resolves with
   * the undo once the target is in place.
   */
  async degradeIngress(kbit: number, overMs: number, link: LinkShape = {}): Promise<() => void> {
    const steps = overMs > 0 ? [3, 2, 1.5] : [];
    for (const factor of steps) {
      this.shapeIngress(`${Math.round(kbit * factor)}kbit`, link);
      await new Promise((resolve) => setTimeout(resolve, overMs / steps.length));
    }
    return this.shapeIngress(`${kbit}kbit`, link);
  }

  /** A Chromium executable that runs inside this namespace (for playwright's `executablePath`). */
  chromiumPath(): string {
    return chromiumWrapper(this.#dir, this.name);
  }

  /**
   * A second namespace behind this one, which becomes its router: it forwards the client's
   * traffic to the host and masquerades it (a home or office NAT). Firewall rules for the
   * client go in this namespace's FORWARD chain (`block`).
   *
   *   host 10.231.<n>.1 ── router 10.231.<n>.2 | 10.232.<n>.1 ── client 10.232.<n>.2
   */
  addNatClient(): NatClient {
    const client = new NatClient(this.name, this.#index);
    try {
      run('ip', ['netns', 'add', client.name]);
      this.exec('ip', ['link', 'add', client.routerIf, 'type', 'veth', 'peer', 'name', client.clientIf]);
      this.exec('ip', ['link', 'set', client.clientIf, 'netns', client.name]);
      this.exec('ip', ['addr', 'add', `${client.routerIp}/30`, 'dev', client.routerIf]);
      this.exec('ip', ['link', 'set', client.routerIf, 'up']);
      this.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      this.exec('iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', `${this.#hostIf}p`, '-j', 'MASQUERADE']);
      client.exec('ip', ['addr', 'add', `${client.ip}/30`, 'dev', client.clientIf]);
      client.exec('ip', ['link', 'set', client.clientIf, 'up']);
      client.exec('ip', ['link', 'set', 'lo', 'up']);
      client.exec('ip', ['route', 'add', 'default', 'via', client.routerIp]);
    } catch (error) {
      client.destroy();
      throw error;
    }
    this.#clients.push(client);
    return client;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const client of this.#clients) client.destroy();
    // Deleting the namespace removes the veth pair and every rule inside it.
    try {
      run('ip', ['netns', 'del', this.name]);
    } catch {
      // Already gone.
    }
    try {
      run('ip', ['link', 'del', this.#hostIf]);
    } catch {
      // Went with the namespace.
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A namespace behind a NetNamespace acting as its NAT router (see `NetNamespace.addNatClient`). */
export class NatClient {
  readonly name: string;
  /** This client's address; the host sees the router's address instead. */
  readonly ip: string;
  readonly routerIp: string;
  readonly routerIf: string;
  readonly clientIf: string;
  readonly #dir: string;
  #destroyed = false;

  constructor(routerName: string, index: number) {
    this.name = `${routerName}c`;
    this.routerIf = `${routerName}r`;
    this.clientIf = `${routerName}n`;
    this.routerIp = `10.232.${index}.1`;
    this.ip = `10.232.${index}.2`;
    this.#dir = mkdtempSync(join(tmpdir(), `${this.name}-`));
  }

  exec(command: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  chromiumPath(): string {
    return chromiumWrapper(this.#dir, this.name);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      run('ip', ['netns', 'del', this.name]);
    } catch {
      // Already gone.
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A script that runs Debian's Chromium inside a namespace, for playwright's `executablePath`. */
function chromiumWrapper(dir: string, namespace: string): string {
  const path = join(dir, 'chromium-in-netns.sh');
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${namespace} /usr/bin/chromium "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** How a shaped link behaves besides its rate. */
export type LinkShape = {
  /** Token bucket size (default 4000 bytes, a few packets). */
  burstBytes?: number;
  /** The longest a packet may wait in the queue before it is dropped (default 200 ms). */
  queueMs?: number;
};

/** A token bucket on `dev`: `rate`, a small bucket, and a bounded queue. */
function tbf(dev: string, rate: string, { burstBytes = 4000, queueMs = 200 }: LinkShape): string[] {
  return [
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    rate,
    'burst',
    String(burstBytes),
    'latency',
    `${queueMs}ms`,
  ];
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
