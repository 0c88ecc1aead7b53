/**
 * Starting runs through the client helpers and collecting how each one ended, within a deadline:
 * completed, failed (by failure type), or stuck (still running when the deadline passed). Every
 * wait polls with a deadline and survives a server that is briefly away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowFailedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { statusQuery, type RunApsJobInput, type RunApsJobResult } from '../../../src/api';
import { startJobRun } from '../../../src/client';
import type { runApsJob } from '../../../src/workflows/run-aps-job';

/** Region every reliability job lives in. */
export const REGION = 'cn-hangzhou';

/** One started run. */
export interface Run {
  /** The APS job. */
  apsJobId: string;
  /** Its workflow. */
  workflowId: string;
  /** The handle. */
  handle: WorkflowHandleWithFirstExecutionRunId<typeof runApsJob>;
  /** Epoch ms just before the start request was sent. */
  requestedAt: number;
}

/** How a run ended. */
export interface Outcome {
  /** The run. */
  run: Run;
  /** `completed`, `failed`, `stuck`, or another execution status (`terminated`, …) in lower case. */
  state: string;
  /** The result, when completed. */
  result?: RunApsJobResult;
  /** The ApplicationFailure type, when failed. */
  failureType?: string;
  /** The failure message, when failed. */
  message?: string;
  /** The failure details, when failed. */
  details?: unknown[];
  /** The workflow's phase (status query), when stuck. */
  phase?: string;
}

/** Maps `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Retries `fn` while the server is away (any error), until `deadline`; the last error is thrown. */
export async function retrying<T>(fn: () => Promise<T>, deadline: number, intervalMs = 500): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + intervalMs > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}

/** Starts a run through `startJobRun` (the product's front door: validation, job ID → workflow ID). */
export async function startRun(client: Client, taskQueue: string, input: RunApsJobInput): Promise<Run> {
  const requestedAt = Date.now();
  const started = await startJobRun(client, input, { taskQueue });
  return { apsJobId: input.apsJobId, workflowId: started.workflowId, handle: started.handle, requestedAt };
}

/** Closed executions on a task queue (visibility). */
async function closedCount(client: Client, taskQueue: string): Promise<number> {
  const res = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus != "Running"`);
  return res.count;
}

/**
 * Waits until every run on `taskQueue` is closed or `deadline` passes, then says how each ended.
 * Runs still open at the deadline are `stuck`.
 */
export async function awaitRuns(
  client: Client,
  taskQueue: string,
  runs: readonly Run[],
  deadline: number,
  onTick?: (closed: number) => void,
): Promise<Outcome[]> {
  for (;;) {
    let closed = -1;
    try {
      closed = await closedCount(client, taskQueue);
      onTick?.(closed);
    } catch {
      // The server is away (a restart): try again.
    }
    if (closed >= runs.length || Date.now() > deadline) break;
    await sleep(1000);
  }
  // Visibility can trail the executions by a moment; the executions themselves decide.
  const settle = Math.max(deadline, Date.now()) + 30_000;
  return mapLimit(runs, 16, (run) => outcomeOf(run, settle));
}

async function outcomeOf(run: Run, deadline: number): Promise<Outcome> {
  const desc = await retrying(() => run.handle.describe(), deadline);
  const status = desc.status.name;
  if (status === 'RUNNING') {
    let phase: string | undefined;
    try {
      phase = (await run.handle.query(statusQuery)).phase;
    } catch {
      phase = undefined;
    }
    return { run, state: 'stuck', phase };
  }
  if (status === 'COMPLETED') {
    return { run, state: 'completed', result: await retrying(() => run.handle.result(), deadline) };
  }
  if (status === 'FAILED') {
    try {
      await run.handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
        return {
          run,
          state: 'failed',
          failureType: err.cause.type ?? 'ApplicationFailure',
          message: err.cause.message,
          details: err.cause.details ?? [],
        };
      }
      return { run, state: 'failed', failureType: 'Unknown', message: String(err) };
    }
  }
  return { run, state: status.toLowerCase() };
}

/** Completed, failed by type, stuck. */
export interface Tally {
  /** Runs. */
  jobs: number;
  /** Completed runs. */
  completed: number;
  /** Failed runs by failure type. */
  failed: Record<string, number>;
  /** Runs still open at the deadline. */
  stuck: number;
  /** Runs that ended otherwise (terminated, timed out, …), by state. */
  other: Record<string, number>;
}

/** Counts outcomes. */
export function tally(outcomes: readonly Outcome[]): Tally {
  const t: Tally = { jobs: outcomes.length, completed: 0, failed: {}, stuck: 0, other: {} };
  for (const o of outcomes) {
    if (o.state === 'completed') t.completed += 1;
    else if (o.state === 'stuck') t.stuck += 1;
    else if (o.state === 'failed') {
      const k = o.failureType ?? 'Unknown';
      t.failed[k] = (t.failed[k] ?? 0) + 1;
    } else t.other[o.state] = (t.other[o.state] ?? 0) + 1;
  }
  return t;
}

/** A short description of the runs that did not complete, for assertion messages. */
export function describeProblems(outcomes: readonly Outcome[], limit = 10): string {
  return outcomes
    .filter((o) => o.state !== 'completed')
    .slice(0, limit)
    .map(
      (o) =>
        `${o.run.apsJobId}: ${o.state}${o.failureType ? ` ${o.failureType}` : ''}${o.phase ? ` (phase ${o.phase})` : ''}${o.message ? `: ${o.message}` : ''}`,
    )
    .join('\n');
}
