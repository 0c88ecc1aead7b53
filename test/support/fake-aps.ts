/**
 * A scripted fake of our own ApsApi interface, for unit tests of single activities only.
 */
import {
  ApsApiError,
  type ActionLogsInput,
  type ActionLogsResult,
  type ApsApi,
  type ApsError,
  type JobDetail,
  type JobRef,
  type ListJobsResult,
  type StatusClass,
} from '../../src/aps/types';

/** One scripted answer: a raw status / success, or an error. */
export type FakeAnswer =
  { status: string; class: StatusClass } | { error: Partial<ApsError> & { code: string } };

/** A fake whose describe/start/suspend answers come from queues; the last answer repeats. */
export class FakeAps implements ApsApi {
  readonly calls: { action: string; ref: JobRef }[] = [];
  describeAnswers: FakeAnswer[] = [];
  startAnswers: FakeAnswer[] = [];
  suspendAnswers: FakeAnswer[] = [];
  listResult: ListJobsResult = { jobs: [], pageNumber: 1, pageSize: 100, totalCount: 0, raw: {} };
  /** The cluster DescribeApsJobDetail reports (undefined: the detail carries none). */
  destinationInstanceId: string | undefined = 'amv-fake';
  /** Inputs of every DescribeApsActionLogs call. */
  readonly actionLogInputs: ActionLogsInput[] = [];
  /** Answers DescribeApsActionLogs (default: no lines). */
  actionLogsAnswer: (input: ActionLogsInput) => ActionLogsResult | Promise<ActionLogsResult> = (i) => ({
    lines: [],
    totalCount: 0,
    pageNumber: i.pageNumber ?? 1,
    pageSize: i.pageSize ?? 30,
    raw: {},
  });

  count(action: string): number {
    return this.calls.filter((c) => c.action === action).length;
  }

  private next(queue: FakeAnswer[]): FakeAnswer {
    const a = queue.length > 1 ? queue.shift() : queue[0];
    if (!a) throw new Error('FakeAps: no scripted answer');
    return a;
  }

  private static fail(a: FakeAnswer): void {
    if ('error' in a) {
      throw new ApsApiError({
        message: 'scripted',
        retryClass: 'unknown',
        ambiguous: false,
        raw: {},
        ...a.error,
      });
    }
  }

  describeJob(ref: JobRef): Promise<JobDetail> {
    this.calls.push({ action: 'DescribeApsJobDetail', ref });
    const a = this.next(this.describeAnswers);
    try {
      FakeAps.fail(a);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const s = a as { status: string; class: StatusClass };
    return Promise.resolve({
      apsJobId: ref.apsJobId,
      status: { raw: s.status, class: s.class },
      ...(this.destinationInstanceId !== undefined
        ? { destinationInstanceId: this.destinationInstanceId }
        : {}),
      detail: { Status: s.status },
      raw: {},
    });
  }

  private simple(action: string, queue: FakeAnswer[], ref: JobRef) {
    this.calls.push({ action, ref });
    const a = this.next(queue);
    try {
      FakeAps.fail(a);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return Promise.resolve({ apsJobId: ref.apsJobId, requestId: `req-${this.calls.length}`, raw: {} });
  }

  startJob(ref: JobRef) {
    return this.simple('StartApsJob', this.startAnswers, ref);
  }

  suspendJob(ref: JobRef) {
    return this.simple('SuspendApsJob', this.suspendAnswers, ref);
  }

  listJobs(): Promise<ListJobsResult> {
    this.calls.push({ action: 'DescribeApsJobs', ref: { regionId: '', apsJobId: '' } });
    return Promise.resolve(this.listResult);
  }

  async actionLogs(input: ActionLogsInput): Promise<ActionLogsResult> {
    this.calls.push({
      action: 'DescribeApsActionLogs',
      ref: { regionId: input.regionId, apsJobId: input.apsJobId },
    });
    this.actionLogInputs.push(input);
    return this.actionLogsAnswer(input);
  }
}

/** Shorthands for scripted answers. */
export const S = {
  running: { status: 'Running', class: 'running' } as FakeAnswer,
  suspended: { status: 'Suspended', class: 'stopped' } as FakeAnswer,
  starting: { status: 'Starting', class: 'transitional' } as FakeAnswer,
  completed: { status: 'COMPLETED', class: 'completed' } as FakeAnswer,
  failed: { status: 'Failed', class: 'failed' } as FakeAnswer,
  ok: { status: 'OK', class: 'running' } as FakeAnswer,
  err: (code: string, retryClass: ApsError['retryClass'], extra: Partial<ApsError> = {}): FakeAnswer => ({
    error: { code, retryClass, ...extra },
  }),
};
