/**
 * What the benchmark's workflows, activities, worker process and harness share. Pure: safe to
 * import in workflow code.
 */

/** The ways of waiting that are compared, plus the empty-workflow ceiling. */
export const STRATEGIES = ['empty', 'ours', 'naive', 'heartbeat'] as const;

/** One of {@link STRATEGIES}. */
export type StrategyName = (typeof STRATEGIES)[number];

/** What each strategy is, for tables and progress lines. */
export const STRATEGY_LABELS: Record<StrategyName, string> = {
  empty: 'empty workflow (ceiling)',
  ours: 'ours: runApsJob (start and wait in one activity, waits held in process by the worker)',
  naive: 'naive: workflow sleep + describe activity',
  heartbeat: 'heartbeat: one activity polls and heartbeats',
};

/**
 * The activities that do the waiting in each strategy (their slots are what waiting costs),
 * comma-separated: ours waits in its start activity and, when handed back, in its wait activity.
 */
export const WAITING_ACTIVITY: Record<StrategyName, string | undefined> = {
  empty: undefined,
  ours: 'startApsJob,waitForApsJob',
  naive: 'describeApsJobStatus',
  heartbeat: 'pollApsJobUntilReady',
};

/** Input of the bench-only waiting workflows. */
export interface BenchJobInput {
  /** Region. */
  regionId: string;
  /** The APS job ID. */
  apsJobId: string;
  /** Delay between status reads, ms. */
  pollIntervalMs: number;
  /** Bound of the whole wait, ms. */
  timeoutMs: number;
}

/** Result of the bench-only waiting workflows. */
export interface BenchJobResult {
  /** The raw status when the job was seen running. */
  status: string;
  /** Status reads made while waiting. */
  polls: number;
}
