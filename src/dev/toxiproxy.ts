/**
 * Toxiproxy (github.com/Shopify/toxiproxy): a TCP proxy whose links can be cut or slowed through
 * an HTTP API. The local stack puts each worker "host" behind its own proxies, one to Temporal and
 * one to the APS endpoint, so that a test can cut one worker off from either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findOnPath, goInstall, isExecutableFile, projectCacheDir } from './go-build';

/** The release built from the Go module proxy. */
export const TOXIPROXY_VERSION = 'v2.12.0';
/** Its server package. */
export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server';

/** The cached `toxiproxy-server`, built with Go when missing. */
export async function resolveToxiproxy(
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = join(projectCacheDir(env), `toxiproxy-${TOXIPROXY_VERSION.replace(/^v/, '')}`);
  const bin = join(dir, 'toxiproxy-server');
  if (!isExecutableFile(bin)) {
    const go = findOnPath('go', env);
    if (!go)
      throw new Error(
        `The local stack needs toxiproxy-server, built with Go into ${dir}; Go is not on PATH.`,
      );
    await goInstall(
      go,
      {
        label: 'toxiproxy',
        packages: [TOXIPROXY_MODULE],
        version: TOXIPROXY_VERSION,
        binaries: [{ built: 'server', as: 'toxiproxy-server' }],
        dir,
        env,
        log,
      },
      `Check that the Go module proxy serves ${TOXIPROXY_MODULE}@${TOXIPROXY_VERSION}.`,
    );
  }
  return bin;
}

/** A running Toxiproxy and its API. */
export class Toxiproxy {
  private constructor(
    /** The process. */
    readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>` of its API. */
    readonly api: string,
  ) {}

  /** Starts `bin` with its API on `port`, logging to `logFile`. */
  static async start(bin: string, port: number, logFile: string): Promise<Toxiproxy> {
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const proxy = new Toxiproxy(child, `http://127.0.0.1:${port}`);
    const until = Date.now() + 15_000;
    for (;;) {
      try {
        const res = await fetch(`${proxy.api}/version`);
        if (res.ok) return proxy;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > until) {
        throw new Error(`toxiproxy did not answer on port ${port} (see ${logFile})`);
      }
      await sleep(100);
    }
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.api}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** Creates a proxy `name` from `listen` (`127.0.0.1:port`) to `upstream`. */
  async create(name: string, listen: string, upstream: string): Promise<void> {
    await this.call('POST', '/proxies', { name, listen, upstream, enabled: true });
  }

  /**
   * Cuts link `name`: `drop` accepts connections and delivers nothing (a partition: peers notice
   * only by their timeouts); `refuse` closes every connection and refuses new ones.
   */
  async cut(name: string, mode: 'drop' | 'refuse' = 'drop'): Promise<void> {
    if (mode === 'refuse') {
      await this.call('POST', `/proxies/${name}`, { enabled: false });
      return;
    }
    for (const stream of ['upstream', 'downstream']) {
      await this.call('POST', `/proxies/${name}/toxics`, {
        name: `cut-${stream}`,
        type: 'timeout',
        stream,
        toxicity: 1,
        attributes: { timeout: 0 },
      });
    }
  }

  /** Delays link `name` by `latencyMs` each way. */
  async delay(name: string, latencyMs: number): Promise<void> {
    for (const stream of ['upstream', 'downstream']) {
      await this.call('POST', `/proxies/${name}/toxics`, {
        name: `delay-${stream}`,
        type: 'latency',
        stream,
        toxicity: 1,
        attributes: { latency: latencyMs, jitter: 0 },
      });
    }
  }

  /** Heals link `name`: every toxic removed, the proxy enabled. */
  async heal(name: string): Promise<void> {
    const proxy = (await this.call('GET', `/proxies/${name}`)) as { toxics?: { name: string }[] };
    for (const t of proxy.toxics ?? []) await this.call('DELETE', `/proxies/${name}/toxics/${t.name}`);
    await this.call('POST', `/proxies/${name}`, { enabled: true });
  }

  /** Stops the process. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
