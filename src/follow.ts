/**
 * Following a job's run with live progress: a redrawn line on a terminal, plain lines otherwise.
 */
import logUpdate from 'log-update';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { FailureTypes, type RunApsJobResult } from './api';
import { failureReasonsOf, type FailureReasons } from './failures';
import { describeJobRun, jobRunHandle, type JobRunView } from './client';
import { formatMs } from './validation';

/** How a followed run ended. */
export type FollowOutcome =
  | { ok: true; result: RunApsJobResult }
  | { ok: false; reason: string; failureType?: string; details?: unknown };

/** One progress snapshot, as printed. */
export interface ProgressLine {
  /** Run phase (or the execution status once closed). */
  phase: string;
  /** Raw job status last seen. */
  jobStatus?: string;
  /** Attempt of the activity in progress. */
  attempt?: number;
  /** Type of the last failure of that activity (an API code; ApsJobNotReady while waiting). */
  lastError?: string;
  /** Elapsed since the run started, ms. */
  elapsedMs: number;
}

/** Builds the progress snapshot from a run view. */
export function progressOf(view: JobRunView, nowMs: number): ProgressLine {
  const a = view.activity;
  return {
    phase:
      view.status?.phase ??
      (view.executionStatus === 'RUNNING' ? view.searchPhase : undefined) ??
      view.executionStatus.toLowerCase(),
    jobStatus: a?.lastJobStatus ?? view.status?.lastStatus,
    attempt: a?.attempt,
    lastError: a?.lastFailureType ?? view.status?.lastErrorCode,
    elapsedMs: nowMs - view.startTime.getTime(),
  };
}

/** Formats a progress snapshot as one line. */
export function formatProgress(p: ProgressLine): string {
  const parts = [`phase=${p.phase}`];
  if (p.jobStatus) parts.push(`job=${p.jobStatus}`);
  if (p.attempt !== undefined) parts.push(`attempt=${p.attempt}`);
  if (p.lastError && p.lastError !== 'ApsJobNotReady') parts.push(`last-error=${p.lastError}`);
  parts.push(`elapsed=${formatMs(Math.max(0, Math.round(p.elapsedMs)))}`);
  return parts.join('  ');
}

/** Explains a run's failure in one line. */
export function explainFailure(err: unknown): { reason: string; failureType?: string; details?: unknown } {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      return {
        reason: `${cause.type ?? 'Failed'}: ${cause.message}`,
        failureType: cause.type ?? undefined,
        details: cause.details,
      };
    }
    if (cause instanceof CancelledFailure) return { reason: 'cancelled', failureType: 'Cancelled' };
    if (cause instanceof TerminatedFailure) return { reason: 'terminated', failureType: 'Terminated' };
    return { reason: cause?.message ?? err.message };
  }
  return { reason: err instanceof Error ? err.message : String(err) };
}

/** Lines of a job's reasons the CLI prints (all of them are in `--json`). */
export const PRINTED_REASON_LINES = 5;
/** Characters of one printed reason line's text. */
const PRINTED_REASON_CHARS = 200;

/**
 * A failed job's reasons as a few aligned lines (`reasons`, newest first, then `console`), the
 * label padded to `labelWidth`; empty when the details carry none.
 */
export function formatFailureReasons(details: unknown, labelWidth = 11): string[] {
  const r: FailureReasons = failureReasonsOf(details);
  const pad = (label: string): string => label.padEnd(labelWidth);
  const out: string[] = [];
  const lines = r.actionLogs ?? [];
  const shown = lines.slice(0, PRINTED_REASON_LINES);
  shown.forEach((l, i) => {
    // One line each: a log text may hold newlines and stack traces.
    let text = l.context.replace(/\s+/g, ' ').trim();
    if (text.length > PRINTED_REASON_CHARS) text = `${text.slice(0, PRINTED_REASON_CHARS - 1)}…`;
    const where = [l.time, l.state, l.stage].filter((x) => x).join(' ');
    out.push(`${pad(i === 0 ? 'reasons' : '')}${where}: ${text}`);
  });
  if (lines.length > shown.length || r.actionLogsTruncated) {
    out.push(
      `${pad('')}(${shown.length} of ${lines.length} lines shown${r.actionLogsTruncated ? '; older lines left out' : ''}; all kept in --json)`,
    );
  }
  if (r.consoleUrl) out.push(`${pad('console')}${r.consoleUrl}`);
  return out;
}

/** The details of a run's failure when it is `ApsJobFailed` (the only failure with reasons). */
export function jobFailedDetailsOf(outcome: { failureType?: string; details?: unknown }): unknown {
  if (outcome.failureType !== FailureTypes.ApsJobFailed || !Array.isArray(outcome.details)) return undefined;
  return outcome.details[0];
}

/**
 * Follows a job's run until it closes (or, with `until`, until that settles: the Update-with-Start
 * of `start --wait`), writing progress to `out` (redrawn on a TTY, a line per change otherwise,
 * nothing when `quiet`). Progress comes from the server's description of the run every
 * `intervalMs` (default 2 s): no query, so an evicted run is never replayed for it.
 */
export async function followJobRun(
  client: Client,
  regionId: string,
  apsJobId: string,
  opts: { out?: NodeJS.WriteStream; quiet?: boolean; intervalMs?: number; until?: Promise<unknown> } = {},
): Promise<FollowOutcome> {
  const out = opts.out ?? process.stderr;
  const tty = out.isTTY === true;
  const render = tty ? logUpdate.create(out) : undefined;
  const handle = jobRunHandle(client, regionId, apsJobId);
  let last = '';
  let done = false;
  const ended = (opts.until ?? handle.result()).finally(() => {
    done = true;
  });
  ended.catch(() => undefined);
  try {
    while (!done) {
      let seen = false;
      try {
        const view = await describeJobRun(client, regionId, apsJobId, { query: false });
        const line = formatProgress(progressOf(view, Date.now()));
        if (!opts.quiet) {
          if (render) render(line);
          else if (line.replace(/elapsed=\S+/, '') !== last.replace(/elapsed=\S+/, ''))
            out.write(`${line}\n`);
        }
        last = line;
        seen = true;
      } catch {
        // A describe may fail while the server is busy (or before the run exists): the next tick tries again.
      }
      await Promise.race([ended.catch(() => undefined), sleep(seen ? (opts.intervalMs ?? 2000) : 250)]);
    }
    render?.done();
    // Errors of `until` itself (a conflicting run, bad input) are the caller's to report.
    if (opts.until) await opts.until;
  } catch (err) {
    render?.done();
    throw err;
  }
  try {
    return { ok: true, result: await handle.result() };
  } catch (err) {
    return { ok: false, ...explainFailure(err) };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
