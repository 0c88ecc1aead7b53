/**
 * A run's own pending activity as the Temporal server holds it, read through the worker's client.
 * A run reads its wait this way before it cancels the wait to re-schedule it: the server cancels a
 * wait that is between two attempts (on its retry timer) at once, and reports none of its state.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';

/** `PENDING_ACTIVITY_STATE_SCHEDULED`: no attempt is under way (the first, or a retry, is due). */
const PENDING_ACTIVITY_STATE_SCHEDULED = 1;

/** One pending activity of a run, as the server describes it. */
export interface PendingActivity {
  /** Its activity ID. */
  activityId: string;
  /** An attempt is under way (in a worker, or held by a worker's waiter). */
  running: boolean;
  /** The attempt under way, or the next one. */
  attempt: number;
  /** What the last attempt heartbeated (or left with its failure), decoded; absent when nothing. */
  details?: unknown;
  /** Epoch ms when the server runs the next attempt, when none is under way. */
  nextAttemptAt?: number;
}

/** The pending activity of type `activityType` of the given run, or undefined when there is none. */
export async function readPendingActivity(
  client: Client,
  execution: { workflowId: string; runId: string },
  activityType: string,
): Promise<PendingActivity | undefined> {
  const desc = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
  const pending = (desc.raw.pendingActivities ?? []).find((p) => p.activityType?.name === activityType);
  if (!pending) return undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  let details: unknown;
  if (payload) {
    try {
      details = defaultPayloadConverter.fromPayload(payload);
    } catch {
      details = undefined;
    }
  }
  const running = (pending.state as number | null | undefined) !== PENDING_ACTIVITY_STATE_SCHEDULED;
  const nextAttemptAt = running ? undefined : optionalTsToMs(pending.nextAttemptScheduleTime);
  return {
    activityId: pending.activityId ?? '',
    running,
    attempt: pending.attempt ?? 1,
    ...(details !== undefined && details !== null ? { details } : {}),
    ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
  };
}
