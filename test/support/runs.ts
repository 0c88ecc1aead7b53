/**
 * Starting runs on a test stack and reading how they failed.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { jobWorkflowId, type RunApsJobInput } from '../../src/api';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { testEnv } from './env';
import type { Stack } from './stack';

/** Starts runApsJob on the stack's task queue, under a workflow ID of its own. */
export function startRun(stack: Stack, input: RunApsJobInput): Promise<WorkflowHandle<typeof runApsJob>> {
  return testEnv().client.workflow.start(runApsJob, {
    taskQueue: stack.taskQueue,
    workflowId: `${jobWorkflowId(input.regionId, input.apsJobId)}:${randomUUID()}`,
    args: [input],
  });
}

/** Awaits a run's failure: asserts WorkflowFailedError → ApplicationFailure and returns the latter. */
export async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail(`expected ${handle.workflowId} to fail`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  assert.ok(err.cause instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err.cause)}`);
  return err.cause;
}
