/**
 * Naive baseline, for comparison only: start the job, then loop "describe in an activity, sleep a
 * timer in the workflow". Every poll adds an activity and a timer to the history.
 */
import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../src/activities';
import type { BenchActivities } from '../activities';
import type { BenchJobInput, BenchJobResult } from '../api';

/** Starts the job and polls it with a workflow timer between describe activities. */
export async function naivePollApsJob(input: BenchJobInput): Promise<BenchJobResult> {
  const { startApsJob } = proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const { describeApsJobStatus } = proxyActivities<BenchActivities>({ startToCloseTimeout: '30s' });
  const ref = { regionId: input.regionId, apsJobId: input.apsJobId };
  await startApsJob({
    ...ref,
    target: 'running',
    settleMs: 60_000,
    settleIntervalMs: Math.min(input.pollIntervalMs, 5_000),
  });
  for (let polls = 1; ; polls++) {
    const status = await describeApsJobStatus(ref);
    if (status.class === 'running' || status.class === 'completed') return { status: status.raw, polls };
    if (status.class === 'failed' || status.class === 'stopped') {
      throw ApplicationFailure.create({
        type: 'ApsJobNotRunning',
        message: `APS job ${ref.apsJobId} is ${status.raw}`,
        nonRetryable: true,
      });
    }
    await sleep(input.pollIntervalMs);
  }
}
