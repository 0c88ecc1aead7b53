/**
 * Bench-only activities for the two baselines the package's way of waiting is compared with.
 * They are deliberately plain: no retry rules, no error-code handling, just the waiting pattern.
 */
import { heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ApsApi, JobRef, JobStatus } from '../src/aps/types';
import type { BenchJobResult } from './api';

/** Dependencies of the bench activities. */
export interface BenchActivityDeps {
  /** The APS API (the real client pointed at the emulator). */
  aps: ApsApi;
}

/** Input of {@link BenchActivities.pollApsJobUntilReady}. */
export interface PollUntilReadyInput extends JobRef {
  /** Delay between reads, ms. */
  pollIntervalMs: number;
}

/** Creates the bench activities. */
export function createBenchActivities({ aps }: BenchActivityDeps) {
  return {
    /** Naive baseline: one status read per activity; the workflow sleeps between reads. */
    async describeApsJobStatus(ref: JobRef): Promise<JobStatus> {
      return (await aps.describeJob(ref)).status;
    },

    /**
     * Heartbeat baseline: reads, heartbeats and sleeps inside one activity until the job runs, so
     * the activity (and its worker slot) lives for the whole wait.
     */
    async pollApsJobUntilReady(input: PollUntilReadyInput): Promise<BenchJobResult> {
      const ref: JobRef = { regionId: input.regionId, apsJobId: input.apsJobId };
      for (let polls = 1; ; polls++) {
        const { status } = await aps.describeJob(ref);
        if (status.class === 'running' || status.class === 'completed') return { status: status.raw, polls };
        if (status.class === 'failed' || status.class === 'stopped') {
          throw ApplicationFailure.create({
            type: 'ApsJobNotRunning',
            message: `APS job ${ref.apsJobId} is ${status.raw}`,
            nonRetryable: true,
          });
        }
        heartbeat({ polls });
        // The activity's own sleep: it ends early when the activity is cancelled.
        await sleep(input.pollIntervalMs);
      }
    },
  };
}

/** The bench activities' type, for `proxyActivities<BenchActivities>()`. */
export type BenchActivities = ReturnType<typeof createBenchActivities>;
