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
  #destroyed = false;

  private constructor(index: number) {
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

  /** Limits the namespace's upload to `rate` (tc tbf on its veth), e.g. '300kbit'. Returns the undo. */
  shapeEgress(rate: string): () => void {
    const dev = `${this.#hostIf}p`;
    this.exec('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '16kb', 'latency', '200ms']);
    return () => {
      if (!this.#destroyed) this.exec('tc', ['qdisc', 'del', 'dev', dev, 'root']);
    };
  }

  /** Limits what reaches the namespace (tc tbf on the host side of the veth). Returns the undo. */
  shapeIngress(rate: string): () => void {
    run('tc', [
      'qdisc',
      'replace',
      'dev',
      this.#hostIf,
      'root',
      'tbf',
      'rate',
      rate,
      'burst',
      '16kb',
      'latency',
      '200ms',
    ]);
    return () => {
      if (!this.#destroyed) run('tc', ['qdisc', 'del', 'dev', this.#hostIf, 'root']);
    };
  }

  /** A Chromium executable that runs inside this namespace (for playwright's `executablePath`). */
  chromiumPath(): string {
    const path = join(this.#dir, 'chromium-in-netns.sh');
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${this.name} /usr/bin/chromium "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
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

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
