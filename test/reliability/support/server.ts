/**
 * The reliability suite's own Temporal dev server: a persistent SQLite file in a temp directory and
 * a fixed port, so that it can be stopped and started again on the same database and address while
 * worker processes and clients stay connected to it.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../../src/api';
import { freePort } from '../../../src/dev/net';
import type { ResolvedTemporalCli } from '../../../src/dev/temporal-cli';

/** A dev server that can be restarted on the same database file and port. */
export class DevServer {
  private env: TestWorkflowEnvironment | undefined;
  /** Restarts done so far. */
  restarts = 0;

  private constructor(
    private readonly cli: ResolvedTemporalCli,
    /** The SQLite file. */
    readonly dbFilename: string,
    /** The frontend port. */
    readonly port: number,
  ) {}

  /** Starts a server whose database lives in `dir`. */
  static async start(cli: ResolvedTemporalCli, dir: string): Promise<DevServer> {
    const server = new DevServer(cli, join(dir, 'temporal.sqlite'), await freePort());
    await server.up();
    return server;
  }

  /** `host:port` of the frontend (the same across restarts). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether the server is up. */
  get running(): boolean {
    return this.env !== undefined;
  }

  private async up(): Promise<void> {
    this.env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: this.cli.executable,
        dbFilename: this.dbFilename,
        ip: '127.0.0.1',
        port: this.port,
        namespace: 'default',
        searchAttributes: SEARCH_ATTRIBUTES,
        // Under a 200-run storm on two cores the server logs "context canceled" errors it recovers
        // from; the runs' outcomes are what the suite judges. RELIABILITY_SERVER_LOG=warn shows them.
        log: { format: 'pretty', level: process.env.RELIABILITY_SERVER_LOG ?? 'never' },
      },
    });
  }

  /** Stops the server process (the database file stays). */
  async stop(): Promise<void> {
    const env = this.env;
    this.env = undefined;
    await env?.teardown();
  }

  /** Stops the server, waits `downMs`, and starts it again on the same file and port. */
  async restart(downMs: number): Promise<{ downMs: number }> {
    const stoppedAt = Date.now();
    await this.stop();
    await sleep(downMs);
    // The port was just released; a restart that races its reuse is retried, not failed.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.up();
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(500);
      }
    }
    this.restarts += 1;
    return { downMs: Date.now() - stoppedAt };
  }
}
