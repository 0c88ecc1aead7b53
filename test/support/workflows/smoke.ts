import { proxyActivities } from '@temporalio/workflow';

/** Activities of the smoke test (types only here). */
export interface SmokeActivities {
  greet(input: { name: string }): Promise<string>;
}

const { greet } = proxyActivities<SmokeActivities>({ startToCloseTimeout: '10s' });

/** A one-activity workflow that proves the stack is real. */
export async function smokeWorkflow(input: { name: string }): Promise<string> {
  return await greet({ name: input.name });
}
