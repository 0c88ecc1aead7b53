/**
 * The in-process waiter: activity attempts that wait for a job hand it here and complete
 * asynchronously (`CompleteAsyncError`), so the wait holds no worker slot. The waiter reads the job
 * on its own timers, heartbeats each attempt through the Temporal client, and completes, fails or
 * hands back the attempt through the same client. A worker that dies stops heartbeating; the
 * server then times the attempt out (its heartbeat timeout) and retries it on a live worker.
 */
import {
  ActivityCancelledError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
} from '@temporalio/client';
import type { Logger } from '@temporalio/common';

/** What one step of a wait decided. */
export type WaitOutcome =
  /** The wait is over: the attempt completes with `result`. */
  | { kind: 'done'; result: unknown }
  /** The attempt fails with `failure` (after `details` are heartbeated, when given). */
  | { kind: 'fail'; failure: Error; details?: unknown }
  /** Not yet: the next step comes after `delayMs`. */
  | { kind: 'again'; delayMs: number }
  /** The attempt is reported cancelled, with `details` (the state a run resumes the wait from). */
  | { kind: 'cancelled'; details?: unknown };

/** One attempt handed to the waiter. */
export interface WaitEntry {
  /** The attempt's task token. */
  taskToken: Uint8Array;
  /** Human-readable name for logs (the job ID). */
  name: string;
  /** Delay before the first step, ms. */
  firstDelayMs: number;
  /** Heartbeat period, ms (half the attempt's heartbeat timeout). */
  heartbeatEveryMs: number;
  /** Epoch ms after which the attempt is handed back instead of stepped again. */
  handBackAt: number;
  /** One read of the job; never throws (errors are outcomes). */
  step(): Promise<WaitOutcome>;
  /** What to heartbeat now (plain JSON). */
  details(): unknown;
  /** How the attempt ends when it is handed back (window over, or the worker shuts down). */
  handBack(why: 'window' | 'shutdown'): WaitOutcome;
  /**
   * The details reported when the attempt is cancelled: a run that cancels a wait to re-schedule it
   * resumes from them (absent: none).
   */
  cancelled?(): unknown;
  /**
   * The attempt's workflow run and activity, so that {@link InProcessWaiter.heartbeatOften} and
   * {@link InProcessWaiter.handBackNow} find it.
   */
  activity?: HeldActivity;
  /** The attempt's logger. */
  log: Logger;
}

/** Which activity of which run an attempt belongs to. */
export interface HeldActivity {
  /** Workflow ID. */
  workflowId: string;
  /** Run ID. */
  runId: string;
  /** Activity ID. */
  activityId: string;
}

/** What the waiter needs of `AsyncCompletionClient` (by task token). */
export interface CompletionLike {
  complete(taskToken: Uint8Array, result: unknown): Promise<void>;
  fail(taskToken: Uint8Array, err: unknown): Promise<void>;
  heartbeat(taskToken: Uint8Array, details?: unknown): Promise<void>;
  reportCancellation(taskToken: Uint8Array, details?: unknown): Promise<void>;
}

/** Options of {@link InProcessWaiter}. */
export interface InProcessWaiterOptions {
  /** The client that heartbeats and completes attempts (on the worker's own connection). */
  completion: CompletionLike;
  /** Reads in flight at once, at most (default 100, the worker's activity slots). */
  maxConcurrentSteps?: number;
  /** How often heartbeats fall due are looked for, ms (default 1000). */
  sweepEveryMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

interface Held {
  entry: WaitEntry;
  timer?: NodeJS.Timeout;
  stepping: boolean;
  heartbeating: boolean;
  lastHeartbeatAt: number;
  ended: boolean;
  /** When the next read is due: reads keep to a grid from the first, however long each took. */
  dueAt?: number;
  /** A heartbeat answered that the attempt is cancelled while a read was in flight: the read ends it. */
  cancelRequested?: boolean;
  /** Until when the attempt heartbeats at every sweep (see {@link InProcessWaiter.heartbeatOften}). */
  oftenUntil?: number;
  /** {@link InProcessWaiter.handBackNow} was asked while a read was in flight: the read ends it. */
  handBackRequested?: boolean;
}

/** Counts of the waiter, for metrics and the benchmark. */
export interface WaiterStats {
  /** Attempts waiting now. */
  waiting: number;
  /** Most attempts waiting at once. */
  peak: number;
  /** Steps (reads) made. */
  steps: number;
  /** Heartbeats sent. */
  heartbeats: number;
  /** Attempts ended: completed, failed, handed back, cancelled, or gone (timed out, closed). */
  ended: { done: number; failed: number; handedBack: number; cancelled: number; gone: number };
}

/** The worker's in-process waiter (one per worker). */
export class InProcessWaiter {
  private readonly held = new Map<string, Held>();
  private readonly now: () => number;
  private readonly maxSteps: number;
  private readonly queue: Held[] = [];
  private running = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly counts: WaiterStats = {
    waiting: 0,
    peak: 0,
    steps: 0,
    heartbeats: 0,
    ended: { done: 0, failed: 0, handedBack: 0, cancelled: 0, gone: 0 },
  };

  constructor(private readonly opts: InProcessWaiterOptions) {
    this.now = opts.now ?? Date.now;
    this.maxSteps = opts.maxConcurrentSteps ?? 100;
  }

  /** Whether attempts are taken (false once {@link close} began). */
  get accepting(): boolean {
    return !this.closing;
  }

  /** Takes an attempt over; its activity then throws `CompleteAsyncError`. */
  add(entry: WaitEntry): void {
    if (this.closing) throw new Error('the in-process waiter is closed');
    const key = Buffer.from(entry.taskToken).toString('base64');
    const h: Held = { entry, stepping: false, heartbeating: false, lastHeartbeatAt: 0, ended: false };
    this.held.set(key, h);
    this.counts.waiting = this.held.size;
    this.counts.peak = Math.max(this.counts.peak, this.held.size);
    // The first heartbeat records the state the attempt handed over (it may say "started").
    this.track(this.heartbeat(key, h));
    this.schedule(key, h, entry.firstDelayMs);
    this.sweeper ??= setInterval(() => this.sweep(), this.opts.sweepEveryMs ?? 1000);
    this.sweeper.unref();
  }

  /**
   * Heartbeats the attempts of `activity` at every sweep for `forMs`: a run about to cancel the
   * wait (to re-schedule it) hears back at once instead of at the next regular heartbeat. False
   * when this waiter holds no such attempt.
   */
  heartbeatOften(activity: HeldActivity, forMs: number): boolean {
    const found = this.find(activity);
    for (const [, h] of found) h.oftenUntil = this.now() + forMs;
    return found.length > 0;
  }

  /**
   * Hands the attempts of `activity` back now, as when their window ends (after the read in
   * flight, if any). False when this waiter holds no such attempt.
   */
  handBackNow(activity: HeldActivity): boolean {
    const found = this.find(activity);
    for (const [key, h] of found) {
      if (h.stepping) h.handBackRequested = true;
      else this.track(this.end(key, h, h.entry.handBack('window'), 'handedBack'));
    }
    return found.length > 0;
  }

  private find(activity: HeldActivity): [string, Held][] {
    return [...this.held].filter(([, h]) => {
      const a = h.entry.activity;
      return (
        a !== undefined &&
        !h.ended &&
        a.workflowId === activity.workflowId &&
        a.runId === activity.runId &&
        a.activityId === activity.activityId
      );
    });
  }

  /** Counts so far. */
  stats(): WaiterStats {
    return { ...this.counts, ended: { ...this.counts.ended }, waiting: this.held.size };
  }

  /**
   * Hands every attempt back (as each entry says for a shutdown) so another worker takes it over at
   * once, and waits for every call in flight. Call it after the worker stopped polling and before
   * its connection closes.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const [key, h] of this.held) {
      if (h.timer) clearTimeout(h.timer);
      if (!h.stepping) this.track(this.end(key, h, h.entry.handBack('shutdown'), 'handedBack'));
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Schedules the next read `delayMs` after `from` (the time the previous read was due, so that
   * the time a read takes and the time it queued do not add up over a wait), or at once when that
   * time has passed already.
   */
  private schedule(key: string, h: Held, delayMs: number, from = this.now()): void {
    if (h.ended || this.closing) return;
    const t = this.now();
    const at = Math.max(t, from + delayMs);
    h.dueAt = at;
    if (at >= h.entry.handBackAt) {
      // The next read would come after the window: hand the attempt back now, with what is left
      // of the delay as its retry delay.
      h.timer = setTimeout(
        () => this.track(this.end(key, h, h.entry.handBack('window'), 'handedBack')),
        Math.max(0, Math.min(at, h.entry.handBackAt) - t),
      );
      return;
    }
    h.timer = setTimeout(() => this.enqueue(key, h), at - t);
  }

  private enqueue(key: string, h: Held): void {
    h.timer = undefined;
    if (h.ended || this.closing) return;
    this.queue.push(h);
    this.drain();
  }

  private drain(): void {
    while (this.running < this.maxSteps && this.queue.length > 0) {
      const h = this.queue.shift()!;
      const key = Buffer.from(h.entry.taskToken).toString('base64');
      if (h.ended || this.closing) continue;
      this.running++;
      h.stepping = true;
      this.track(
        this.stepOnce(key, h).finally(() => {
          h.stepping = false;
          this.running--;
          this.drain();
        }),
      );
    }
  }

  private async stepOnce(key: string, h: Held): Promise<void> {
    let outcome: WaitOutcome;
    try {
      outcome = await h.entry.step();
    } catch (err) {
      outcome = { kind: 'fail', failure: err instanceof Error ? err : new Error(String(err)) };
    }
    this.counts.steps++;
    if (h.ended) return;
    if (h.cancelRequested) {
      // Cancelled while reading: the read counts, then the attempt ends (at the target, it completes).
      if (outcome.kind === 'again') {
        await this.end(key, h, { kind: 'cancelled', details: h.entry.cancelled?.() }, 'cancelled');
      } else {
        await this.end(key, h, outcome, outcome.kind === 'done' ? 'done' : 'failed');
      }
      return;
    }
    if (this.closing) {
      await this.end(key, h, outcome.kind === 'again' ? h.entry.handBack('shutdown') : outcome, 'handedBack');
      return;
    }
    if (h.handBackRequested && outcome.kind === 'again') {
      await this.end(key, h, h.entry.handBack('window'), 'handedBack');
      return;
    }
    if (outcome.kind === 'again') {
      this.schedule(key, h, outcome.delayMs, h.dueAt);
      return;
    }
    await this.end(key, h, outcome, outcome.kind === 'done' ? 'done' : 'failed');
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, h] of this.held) {
      const every =
        h.oftenUntil !== undefined && t < h.oftenUntil
          ? Math.min(this.opts.sweepEveryMs ?? 1000, h.entry.heartbeatEveryMs)
          : h.entry.heartbeatEveryMs;
      if (!h.ended && !h.heartbeating && t - h.lastHeartbeatAt >= every) {
        this.track(this.heartbeat(key, h));
      }
    }
  }

  private async heartbeat(key: string, h: Held): Promise<void> {
    if (h.ended) return;
    h.heartbeating = true;
    const sentAt = this.now();
    try {
      await this.opts.completion.heartbeat(h.entry.taskToken, h.entry.details());
      h.lastHeartbeatAt = sentAt;
      this.counts.heartbeats++;
    } catch (err) {
      if (err instanceof ActivityCancelledError) {
        h.entry.log.info('wait cancelled', { job: h.entry.name });
        h.cancelRequested = true;
        // A read in flight ends the attempt once it is counted (stepOnce).
        if (h.stepping) return;
        await this.end(key, h, { kind: 'cancelled', details: h.entry.cancelled?.() }, 'cancelled');
      } else if (err instanceof ActivityPausedError || err instanceof ActivityResetError) {
        // Paused or reset by an operator: the attempt goes back to the server, which decides.
        if (h.timer) clearTimeout(h.timer);
        if (!h.stepping) await this.end(key, h, h.entry.handBack('shutdown'), 'handedBack');
      } else if (err instanceof ActivityNotFoundError) {
        // Timed out, or its workflow ended: nobody waits for this attempt any more.
        this.drop(key, h, 'gone');
      } else {
        // The server is unreachable: the next sweep tries again; past the heartbeat timeout the
        // server retries the attempt elsewhere and this one's calls answer "not found".
        h.entry.log.warn('heartbeat of an in-process wait failed', {
          job: h.entry.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    } finally {
      h.heartbeating = false;
    }
  }

  private drop(key: string, h: Held, why: keyof WaiterStats['ended']): void {
    if (h.ended) return;
    h.ended = true;
    if (h.timer) clearTimeout(h.timer);
    this.held.delete(key);
    this.counts.waiting = this.held.size;
    this.counts.ended[why]++;
  }

  /** Ends the attempt: completes, fails or reports it cancelled, retrying while the server is away. */
  private async end(
    key: string,
    h: Held,
    outcome: WaitOutcome,
    why: keyof WaiterStats['ended'],
  ): Promise<void> {
    if (h.ended) return;
    h.ended = true;
    if (h.timer) clearTimeout(h.timer);
    const { completion } = this.opts;
    const token = h.entry.taskToken;
    const deadline = this.now() + 3 * h.entry.heartbeatEveryMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        if (outcome.kind === 'cancelled') {
          await completion.reportCancellation(token, outcome.details);
        } else if (outcome.kind === 'done') {
          await completion.complete(token, outcome.result);
        } else if (outcome.kind === 'fail') {
          if (outcome.details !== undefined) await completion.heartbeat(token, outcome.details);
          await completion.fail(token, outcome.failure);
        } else {
          throw new Error('an attempt cannot end with "again"');
        }
        break;
      } catch (err) {
        if (err instanceof ActivityNotFoundError || err instanceof ActivityCancelledError) {
          if (err instanceof ActivityCancelledError && outcome.kind !== 'cancelled') {
            outcome = { kind: 'cancelled', details: h.entry.cancelled?.() };
            continue;
          }
          why = 'gone';
          break;
        }
        if (this.now() + delay > deadline) {
          // The attempt times out on the server and is retried; nothing is lost but time.
          h.entry.log.warn('could not end an in-process wait; the server will retry its attempt', {
            job: h.entry.name,
            error: err instanceof Error ? err.message : String(err),
          });
          why = 'gone';
          break;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.held.delete(key);
    this.counts.waiting = this.held.size;
    this.counts.ended[why]++;
  }
}
