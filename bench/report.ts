/**
 * The results as markdown tables, the issue's targets checked against them, and the goal check of
 * ours against the best of the alternatives in every configuration.
 */
import { BENCH_DYNAMIC_CONFIG } from './dev-server';
import { formatMs } from '../src/validation';
import { STRATEGIES, STRATEGY_LABELS, type StrategyName } from './api';
import { configLabel, type BenchResult, type ConfigResult, type Dist, type PhaseResult } from './harness';
import { round } from './stats';

/** One target of the issue and what the run measured against it. */
export interface TargetCheck {
  /** The target as stated. */
  target: string;
  /** What was measured, in words and numbers. */
  measured: string;
  /** Met, missed, or null when the run had no data for it. */
  met: boolean | null;
}

const CEILING_SHARE = 0.4;
const RSS_LIMIT_MB = 400;
const SLOT_SHARE_LIMIT = 0.05;
const SLOT_SHARE_FROM_INTERVAL_MS = 8_000;
const RSS_AT_JOBS = 1_000;
const DETECTION_SLACK_MS = 1_000;
const EXTRA_CALLS_LIMIT = 1;

function fmt(v: number | null | undefined, unit = ''): string {
  return v === null || v === undefined ? '–' : `${v}${unit}`;
}

function ratio(a: number | null | undefined, b: number | null | undefined, digits = 2): string {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return '–';
  return `${(a / b).toFixed(digits)}×`;
}

function pct(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return '–';
  return `${Math.round((100 * a) / b)} %`;
}

function p50max(d: Dist | undefined): string {
  return d ? `${fmt(d.p50)} / ${fmt(d.max)}` : '–';
}

type Row = [string, (p: PhaseResult, c: ConfigResult) => string, ((c: ConfigResult) => string)?];

const ROWS: Row[] = [
  ['completed', (p) => `${p.completed}/${p.jobs}`],
  ['makespan, s (first start → last close)', (p) => fmt(p.makespanS)],
  ['… of which until every job was started (StartApsJob took effect), s', (p) => fmt(p.effectiveStartsS)],
  ['jobs/s to completion', (p) => fmt(p.jobsPerSec)],
  [
    'jobs/s net of the jobs’ own Starting time',
    (p) => fmt(p.netJobsPerSec),
    (c) => ratio(c.phases.ours?.netJobsPerSec, c.phases.naive?.netJobsPerSec),
  ],
  ['… share of the empty-workflow ceiling', (p, c) => pct(p.netJobsPerSec, c.phases.empty?.jobsPerSec)],
  [
    'history events per workflow, p50 / max',
    (p) => p50max(p.history.events),
    (c) => ratio(c.phases.ours?.history.events.p50, c.phases.naive?.history.events.p50),
  ],
  [
    'history bytes per workflow, p50',
    (p) => fmt(p.history.bytes.p50),
    (c) => ratio(c.phases.ours?.history.bytes.p50, c.phases.naive?.history.bytes.p50),
  ],
  [
    'APS calls per job, p50 / max',
    (p) => (p.api ? p50max(p.api.callsPerJob) : '–'),
    (c) => ratio(c.phases.ours?.api?.callsPerJob.mean, c.phases.naive?.api?.callsPerJob.mean),
  ],
  ['… of which polls after the start, p50 / max', (p) => (p.api ? p50max(p.api.pollsPerJob) : '–')],
  ['… most calls beyond polls + 1 start, any job', (p) => (p.api ? fmt(p.api.extraPerJobMax) : '–')],
  [
    'detection latency p50 / p99, ms',
    (p) => (p.detection ? `${fmt(p.detection.p50)} / ${fmt(p.detection.p99)}` : '–'),
    (c) => ratio(c.phases.ours?.detection?.p99, c.phases.naive?.detection?.p99),
  ],
  [
    '… p50 / p99 as multiples of the poll interval',
    (p) => (p.detection ? `${fmt(p.detection.p50OverInterval)} / ${fmt(p.detection.p99OverInterval)}` : '–'),
  ],
  [
    '… became running → the read that saw it, p50 / p99, ms',
    (p) =>
      p.detectionParts ? `${fmt(p.detectionParts.readLag.p50)} / ${fmt(p.detectionParts.readLag.p99)}` : '–',
  ],
  [
    '… that read answered → workflow closed, p50 / p99, ms',
    (p) =>
      p.detectionParts
        ? `${fmt(p.detectionParts.answerToClose.p50)} / ${fmt(p.detectionParts.answerToClose.p99)}`
        : '–',
  ],
  [
    '… of it, in the fetched histories: to ActivityTaskCompleted / then to the close, p50, ms',
    (p) =>
      p.detectionParts
        ? `${fmt(p.detectionParts.answerToCompleted.p50)} / ${fmt(p.detectionParts.completedToClose.p50)}`
        : '–',
  ],
  [
    '… then to the close, p50 / p99, ms: to the final workflow task handed to a poll (server) / from there (worker)',
    (p) =>
      p.detectionParts?.completedToTaskStarted
        ? `${fmt(p.detectionParts.completedToTaskStarted.p50)} / ${fmt(p.detectionParts.completedToTaskStarted.p99)}` +
          ` (server), ${fmt(p.detectionParts.taskStartedToClose.p50)} / ${fmt(p.detectionParts.taskStartedToClose.p99)} (worker)`
        : '–',
  ],
  [
    'worker RSS peak, MB (at phase start)',
    (p) => `${fmt(p.worker.rssPeakMb)} (${fmt(p.worker.rssAtBeginMb)})`,
    (c) => ratio(c.phases.ours?.worker.rssPeakMb, c.phases.naive?.worker.rssPeakMb),
  ],
  [
    'worker CPU, s (ms per job)',
    (p) => `${fmt(p.worker.cpuS)} (${fmt(p.worker.cpuMsPerJob)})`,
    (c) => ratio(c.phases.ours?.worker.cpuS, c.phases.naive?.worker.cpuS),
  ],
  [
    "worker's main event loop delay p50 / p99 / max, ms",
    (p) =>
      `${fmt(p.worker.eventLoopDelayMs.p50)} / ${fmt(p.worker.eventLoopDelayMs.p99)} / ${fmt(p.worker.eventLoopDelayMs.max)}`,
  ],
  [
    'waits held in process by the worker (no slot each), peak',
    (p) => (p.strategy === 'ours' ? fmt(p.worker.inProcessWaitsPeak) : '–'),
  ],
  [
    'heartbeats the waiter sent, per job',
    (p) => (p.strategy === 'ours' ? fmt(p.worker.waiterHeartbeatsPerJob) : '–'),
  ],
  [
    'most jobs waiting at once (StartApsJob took effect → workflow closed)',
    (p) => fmt(p.slots?.peakWaitingJobs),
  ],
  [
    'waiting-activity slots held while every job waits, mean / peak',
    (p) => (p.slots ? `${fmt(p.slots.waitingMean)} / ${fmt(p.slots.waitingPeak)}` : '–'),
  ],
  [
    'waiting-activity slot-seconds per job',
    (p) => (p.slots ? fmt(p.slots.waitingSlotSecondsPerJob) : '–'),
    (c) =>
      ratio(c.phases.ours?.slots?.waitingSlotSecondsPerJob, c.phases.naive?.slots?.waitingSlotSecondsPerJob),
  ],
  [
    'share of the waiting time a slot is held (slot-s ÷ job-s waiting)',
    (p) => (p.slots ? fmt(p.slots.slotShareOfWait) : '–'),
  ],
  [
    'one waiting-activity execution, p50 / max, ms',
    (p) => (p.slots?.waitingExecutionMs ? p50max(p.slots.waitingExecutionMs) : '–'),
  ],
  ['activity executions in flight, peak', (p) => (p.slots ? fmt(p.slots.inFlightPeak) : '–')],
  [
    'server CPU, s (ms per job)',
    (p) => `${fmt(p.server.cpuS)} (${fmt(p.server.cpuMsPerJob)})`,
    (c) => ratio(c.phases.ours?.server.cpuS, c.phases.naive?.server.cpuS),
  ],
  [
    'server persistence requests per job',
    (p) => fmt(p.server.persistenceRequestsPerJob),
    (c) =>
      ratio(
        c.phases.ours?.server.persistenceRequestsPerJob,
        c.phases.naive?.server.persistenceRequestsPerJob,
      ),
  ],
  [
    'frontend requests per job',
    (p) => fmt(p.server.frontendRequestsPerJob),
    (c) => ratio(c.phases.ours?.server.frontendRequestsPerJob, c.phases.naive?.server.frontendRequestsPerJob),
  ],
  ['load average (1 min) before → after', (p) => `${p.load[0]} → ${p.load[1]}`],
];

/** The table of one configuration: a row per measure, a column per strategy, and ours ÷ naive. */
export function renderConfigTable(config: ConfigResult): string {
  const present = STRATEGIES.filter((s) => config.phases[s] !== undefined);
  const versusColumn = config.phases.ours !== undefined && config.phases.naive !== undefined;
  const header = ['', ...present.map((s) => s), ...(versusColumn ? ['ours ÷ naive'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [name, cell, versus] of ROWS) {
    const cells = present.map((s) => cell(config.phases[s] as PhaseResult, config));
    if (versusColumn) cells.push(versus ? versus(config) : '');
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function phasesOf(result: BenchResult, strategy: StrategyName): Array<{ c: ConfigResult; p: PhaseResult }> {
  return result.configs.flatMap((c) => {
    const p = c.phases[strategy];
    return p ? [{ c, p }] : [];
  });
}

/**
 * The frontier over ours' heartbeat timeout: one row per configuration run with `heartbeatTimeout`
 * (the time another worker takes to take over a dead worker's waits), against what it costs.
 * Empty when no configuration set one.
 */
export function renderFrontier(result: BenchResult): string {
  const rows = result.configs.flatMap((c) => {
    const p = c.phases.ours;
    return p && c.heartbeatTimeoutMs !== undefined ? [{ c, p }] : [];
  });
  if (rows.length === 0) return '';
  const lines = [
    '| configuration | heartbeat timeout (takeover of a dead worker’s waits within) | heartbeats per job | server CPU per job, ms | persistence requests per job | worker CPU per job, ms | detection p99, ms | slot share of the waiting time | net jobs/s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { c, p } of rows) {
    const share = p.slots?.slotShareOfWait ?? null;
    const cells = [
      configLabel({ jobs: c.jobs, polls: c.polls, pollIntervalMs: c.pollIntervalMs }),
      formatMs(c.heartbeatTimeoutMs ?? 0),
      fmt(p.worker.waiterHeartbeatsPerJob),
      fmt(p.server.cpuMsPerJob),
      fmt(p.server.persistenceRequestsPerJob),
      fmt(p.worker.cpuMsPerJob),
      fmt(p.detection?.p99),
      share === null ? '–' : `${fmt(round(100 * share, 2))} %`,
      fmt(p.netJobsPerSec),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Checks the issue's targets against the run. */
export function evaluateTargets(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ours = phasesOf(result, 'ours');

  // 1. History independent of the poll count, and ≤ 1/10 of the naive baseline at 100 polls.
  const byPolls = ours.map(({ c, p }) => ({
    label: configLabel(c),
    polls: p.api?.pollsPerJob.p50,
    events: p.history.events,
  }));
  const eventCounts = new Set(byPolls.map((b) => b.events.max));
  const medianCounts = new Set(byPolls.map((b) => b.events.p50));
  const longest = result.configs
    .filter((c) => c.phases.ours && c.phases.naive)
    .sort((a, b) => b.polls - a.polls)[0];
  const longOurs = longest?.phases.ours?.history.events.p50;
  const longNaive = longest?.phases.naive?.history.events.p50;
  const independent =
    byPolls.length >= 2 && new Set(byPolls.map((b) => b.polls)).size >= 2
      ? eventCounts.size === 1 && medianCounts.size === 1
      : null;
  const tenth =
    longOurs !== null &&
    longOurs !== undefined &&
    longNaive !== null &&
    longNaive !== undefined &&
    (longest?.polls ?? 0) >= 100
      ? longOurs * 10 <= longNaive
      : null;
  checks.push({
    target:
      'History events per workflow independent of the poll count, and ≤ 1/10 of the naive baseline at 100 polls',
    measured:
      `ours, events p50/max: ${byPolls.map((b) => `${b.events.p50}/${b.events.max} at ${fmt(b.polls)} polls (${b.label})`).join('; ')}` +
      (longest
        ? `; at ${configLabel(longest)}: ours ${fmt(longOurs)} vs naive ${fmt(longNaive)} = ${ratio(longOurs, longNaive)}`
        : ''),
    met: independent === null || tenth === null ? null : independent && tenth,
  });

  // 2. API calls per job = polls + 1 start (+ at most 1 describe before the start).
  const apiOk = ours.every(
    ({ p }) =>
      p.api && p.api.startsPerJobMax === 1 && p.api.extraPerJobMax <= 1 && p.api.describesBeforeStartMax <= 1,
  );
  checks.push({
    target: 'APS calls per job = polls + 1 start (+ at most 1 describe before the start)',
    measured: ours
      .map(
        ({ c, p }) =>
          `${configLabel(c)}: calls p50 ${fmt(p.api?.callsPerJob.p50)} = polls p50 ${fmt(p.api?.pollsPerJob.p50)} + starts (max ${fmt(p.api?.startsPerJobMax)}) + describes before the start (max ${fmt(p.api?.describesBeforeStartMax)}); most calls beyond polls + 1 start: ${fmt(p.api?.extraPerJobMax)}`,
      )
      .join('; '),
    met: ours.length > 0 ? apiOk : null,
  });

  // 3. p99 detection latency ≤ poll interval + 1 s.
  const latency = ours.map(({ c, p }) => ({
    c,
    p99: p.detection?.p99 ?? null,
    limit: c.pollIntervalMs + 1_000,
  }));
  checks.push({
    target: 'p99 detection latency ≤ poll interval + 1 s',
    measured: latency
      .map(
        ({ c, p99, limit }) =>
          `${configLabel(c)}: p99 ${fmt(p99)} ms vs ${limit} ms${p99 !== null && p99 > limit ? ` (over by ${p99 - limit} ms)` : ''}`,
      )
      .join('; '),
    met:
      latency.length > 0 && latency.every((l) => l.p99 !== null)
        ? latency.every((l) => (l.p99 as number) <= l.limit)
        : null,
  });

  // 4. 1,000 concurrent waiting jobs: worker RSS < 400 MB, no activity slot held between polls.
  const big = ours.filter(({ c }) => c.jobs >= 1_000);
  checks.push({
    target: `1,000 concurrent waiting jobs with worker RSS < ${RSS_LIMIT_MB} MB and no activity slot held between polls`,
    measured: big.length
      ? big
          .map(
            ({ c, p }) =>
              `${configLabel(c)}: RSS peak ${fmt(p.worker.rssPeakMb)} MB with ${fmt(p.slots?.peakWaitingJobs)} jobs waiting at once; ` +
              `one wait execution p50 ${fmt(p.slots?.waitingExecutionMs?.p50)} ms, max ${fmt(p.slots?.waitingExecutionMs?.max)} ms vs a ${formatMs(c.pollIntervalMs)} interval; ` +
              `a slot is held ${fmt(p.slots?.slotShareOfWait)} of the waiting time (heartbeat baseline ${fmt(c.phases.heartbeat?.slots?.slotShareOfWait)})` +
              (p.slots?.waitingMean !== null && p.slots?.waitingMean !== undefined
                ? `; slots held while all ${c.jobs} wait: mean ${fmt(p.slots.waitingMean)}, peak ${fmt(p.slots.waitingPeak)}`
                : ''),
          )
          .join('; ')
      : 'no configuration with N ≥ 1,000 in this run',
    met: big.length
      ? big.every(
          ({ c, p }) =>
            (p.worker.rssPeakMb ?? Infinity) < RSS_LIMIT_MB &&
            (p.slots?.peakWaitingJobs ?? 0) >= 1_000 &&
            (p.slots?.waitingExecutionMs?.max ?? Infinity) < c.pollIntervalMs &&
            p.notCompleted === 0,
        )
      : null,
  });

  // 5. Throughput ≥ 40 % of the empty-workflow ceiling.
  const tput = result.configs.filter((c) => c.phases.ours && c.phases.empty);
  checks.push({
    target: `Throughput ≥ ${CEILING_SHARE * 100} % of the empty-workflow ceiling`,
    measured: tput
      .map(
        (c) =>
          `${configLabel(c)}: net ${fmt(c.phases.ours?.netJobsPerSec)} jobs/s vs ceiling ${fmt(c.phases.empty?.jobsPerSec)} = ${pct(c.phases.ours?.netJobsPerSec, c.phases.empty?.jobsPerSec)} (raw ${fmt(c.phases.ours?.jobsPerSec)} jobs/s = ${pct(c.phases.ours?.jobsPerSec, c.phases.empty?.jobsPerSec)})`,
      )
      .join('; '),
    met: tput.length
      ? tput.every(
          (c) =>
            (c.phases.ours?.netJobsPerSec ?? 0) >= CEILING_SHARE * (c.phases.empty?.jobsPerSec ?? Infinity),
        )
      : null,
  });
  return checks;
}

/** The alternatives ours is held against in the goal check. */
export const ALTERNATIVES = ['naive', 'heartbeat'] as const;

/** One of {@link ALTERNATIVES}. */
export type Alternative = (typeof ALTERNATIVES)[number];

/** The measures of the goal check, in the order of its rows. */
export const GOAL_MEASURES = [
  'throughput',
  'ceilingShare',
  'detectionP99',
  'detectionP99Bound',
  'workerCpuPerJob',
  'serverCpuPerJob',
  'slotShare',
  'workerRssPeak',
  'historyEventsMax',
  'apiCallsBeyondPolls',
] as const;

/** One of {@link GOAL_MEASURES}. */
export type GoalMeasure = (typeof GOAL_MEASURES)[number];

/** One measure of the goal check in one configuration. */
export interface GoalRow {
  measure: GoalMeasure;
  /** The measure in words. */
  label: string;
  /** Unit of `ours`, `best` and `limit` (`share`: a fraction of 1). */
  unit: string;
  /** Ours' figure; null when ours did not run or has none. */
  ours: number | null;
  /**
   * The best figure of the alternatives that ran (the highest throughput or share of the ceiling,
   * the lowest of anything else); null when neither ran or has one.
   */
  best: number | null;
  /** Whose figure `best` is. */
  bestStrategy: Alternative | null;
  /** The target, in words, for this configuration. */
  target: string;
  /** The fixed bound of the target, in `unit`; null when the target is relative. */
  limit: number | null;
  /**
   * Met or missed, from `ours` against `best` or `limit` (history: against ours' figure in every
   * configuration). A figure ours lacks because not all its jobs completed counts as missed; null
   * (n/a) when the target does not apply to the configuration, when a strategy it needs did not
   * run, or when the run has no figure for it.
   */
  met: boolean | null;
}

/** The goal check of one configuration. */
export interface ConfigGoals {
  /** The configuration, as {@link configLabel} names it. */
  label: string;
  jobs: number;
  polls: number;
  pollIntervalMs: number;
  /** One row per measure, in the order of {@link GOAL_MEASURES}. */
  rows: GoalRow[];
}

/** One measure over every configuration. */
export interface GoalSummaryRow {
  measure: GoalMeasure;
  label: string;
  /** The target, in words, for any configuration. */
  target: string;
  /** Each configuration's verdict, in the order of the run. */
  byConfig: Array<{ label: string; met: boolean | null }>;
  /** Missed in any configuration: false; else met in any: true; else null (n/a everywhere). */
  met: boolean | null;
  /** The configurations that missed it. */
  missedIn: string[];
}

/** Ours against the best of the alternatives, per configuration and over all of them. */
export interface GoalCheck {
  configs: ConfigGoals[];
  summary: GoalSummaryRow[];
}

interface GoalDef {
  label: string;
  unit: string;
  /** The target for the summary. */
  target: string;
  /** Which figure is best. */
  better: 'higher' | 'lower';
  figure: (p: PhaseResult, c: ConfigResult) => number | null;
  /** As a figure in the tables. */
  show: (v: number) => string;
}

const percent = (v: number): string => `${round(100 * v, 2)} %`;

const GOALS: Record<GoalMeasure, GoalDef> = {
  throughput: {
    label: 'jobs/s net of the jobs’ own Starting time',
    unit: 'jobs/s',
    target: '≥ the best alternative',
    better: 'higher',
    figure: (p) => p.netJobsPerSec,
    show: (v) => `${v} jobs/s`,
  },
  ceilingShare: {
    label: 'share of the empty-workflow ceiling (net jobs/s ÷ the ceiling’s jobs/s)',
    unit: 'share',
    target: `≥ ${CEILING_SHARE * 100} %`,
    better: 'higher',
    figure: (p, c) => {
      const ceiling = c.phases.empty?.jobsPerSec;
      return p.netJobsPerSec === null || ceiling === null || ceiling === undefined || ceiling === 0
        ? null
        : round(p.netJobsPerSec / ceiling, 4);
    },
    show: percent,
  },
  detectionP99: {
    label: 'detection latency p99',
    unit: 'ms',
    target: '≤ the best alternative',
    better: 'lower',
    figure: (p) => p.detection?.p99 ?? null,
    show: (v) => `${v} ms`,
  },
  detectionP99Bound: {
    label: 'detection latency p99 against the poll interval',
    unit: 'ms',
    target: '≤ I + 1 s',
    better: 'lower',
    figure: (p) => p.detection?.p99 ?? null,
    show: (v) => `${v} ms`,
  },
  workerCpuPerJob: {
    label: 'worker CPU per job',
    unit: 'ms/job',
    target: '≤ the best alternative',
    better: 'lower',
    figure: (p) => p.worker.cpuMsPerJob,
    show: (v) => `${v} ms`,
  },
  serverCpuPerJob: {
    label: 'server CPU per job',
    unit: 'ms/job',
    target: '≤ the best alternative',
    better: 'lower',
    figure: (p) => p.server.cpuMsPerJob,
    show: (v) => `${v} ms`,
  },
  slotShare: {
    label: 'share of the waiting time a slot is held (slot-s ÷ job-s waiting)',
    unit: 'share',
    target: `≤ ${SLOT_SHARE_LIMIT * 100} % at I ≥ ${formatMs(SLOT_SHARE_FROM_INTERVAL_MS)}`,
    better: 'lower',
    figure: (p) => p.slots?.slotShareOfWait ?? null,
    show: percent,
  },
  workerRssPeak: {
    label: 'worker RSS peak',
    unit: 'MB',
    target: `< ${RSS_LIMIT_MB} MB at N = ${RSS_AT_JOBS}`,
    better: 'lower',
    figure: (p) => p.worker.rssPeakMb,
    show: (v) => `${v} MB`,
  },
  historyEventsMax: {
    label: 'history events per workflow, max',
    unit: 'events',
    target: 'the same in every configuration (independent of the number of polls)',
    better: 'lower',
    figure: (p) => p.history.events.max,
    show: (v) => String(v),
  },
  apiCallsBeyondPolls: {
    label: 'most APS calls beyond polls + 1 start, any job',
    unit: 'calls',
    target: `≤ ${EXTRA_CALLS_LIMIT}: calls ≤ polls + 1 start + 1 describe`,
    better: 'lower',
    figure: (p) => p.api?.extraPerJobMax ?? null,
    show: (v) => String(v),
  },
};

function bestAlternative(
  c: ConfigResult,
  def: GoalDef,
): { best: number | null; bestStrategy: Alternative | null } {
  let out: { best: number | null; bestStrategy: Alternative | null } = { best: null, bestStrategy: null };
  for (const s of ALTERNATIVES) {
    const p = c.phases[s];
    const v = p ? def.figure(p, c) : null;
    if (v === null) continue;
    if (out.best === null || (def.better === 'higher' ? v > out.best : v < out.best)) {
      out = { best: v, bestStrategy: s };
    }
  }
  return out;
}

/**
 * Ours against the best of naive and heartbeat (whichever ran) in every configuration, measure by
 * measure, with the fixed targets, and a summary over all configurations.
 */
export function evaluateGoals(result: BenchResult): GoalCheck {
  const oursRuns = result.configs.filter((c) => c.phases.ours !== undefined).length;
  const history = result.configs.flatMap((c) =>
    c.phases.ours ? [GOALS.historyEventsMax.figure(c.phases.ours, c)] : [],
  );
  const configs = result.configs.map((c): ConfigGoals => {
    const ours = c.phases.ours;
    const rows = GOAL_MEASURES.map((measure): GoalRow => {
      const def = GOALS[measure];
      const figure = ours ? def.figure(ours, c) : null;
      const { best, bestStrategy } = bestAlternative(c, def);
      let target = def.target;
      let limit: number | null = null;
      // Whether the target applies to this configuration and the run has what it is checked against.
      let applies: boolean;
      let holds: (v: number) => boolean;
      switch (measure) {
        case 'throughput':
          applies = best !== null;
          holds = (v) => v >= (best as number);
          break;
        case 'detectionP99':
        case 'workerCpuPerJob':
        case 'serverCpuPerJob':
          applies = best !== null;
          holds = (v) => v <= (best as number);
          break;
        case 'ceilingShare':
          limit = CEILING_SHARE;
          applies = (c.phases.empty?.jobsPerSec ?? 0) > 0;
          holds = (v) => v >= CEILING_SHARE;
          break;
        case 'detectionP99Bound': {
          const bound = c.pollIntervalMs + DETECTION_SLACK_MS;
          limit = bound;
          target = `≤ I + 1 s = ${bound} ms`;
          applies = true;
          holds = (v) => v <= bound;
          break;
        }
        case 'slotShare':
          limit = SLOT_SHARE_LIMIT;
          applies = c.pollIntervalMs >= SLOT_SHARE_FROM_INTERVAL_MS;
          holds = (v) => v <= SLOT_SHARE_LIMIT;
          break;
        case 'workerRssPeak':
          limit = RSS_LIMIT_MB;
          applies = c.jobs === RSS_AT_JOBS;
          holds = (v) => v < RSS_LIMIT_MB;
          break;
        case 'historyEventsMax':
          target = `the same in every configuration (ours: ${history.length > 0 ? history.map((v) => fmt(v)).join(', ') : 'n/a'})`;
          applies = oursRuns >= 2;
          holds = (v) => history.every((h) => h === null || h === v);
          break;
        case 'apiCallsBeyondPolls':
          limit = EXTRA_CALLS_LIMIT;
          applies = true;
          holds = (v) => v <= EXTRA_CALLS_LIMIT;
          break;
      }
      // A figure missing because ours did not complete every job is a miss, not a gap in the data.
      const met =
        !ours || !applies ? null : figure === null ? (ours.notCompleted > 0 ? false : null) : holds(figure);
      return {
        measure,
        label: def.label,
        unit: def.unit,
        ours: figure,
        best,
        bestStrategy,
        target,
        limit,
        met,
      };
    });
    return { label: configLabel(c), jobs: c.jobs, polls: c.polls, pollIntervalMs: c.pollIntervalMs, rows };
  });
  const summary = GOAL_MEASURES.map((measure, i): GoalSummaryRow => {
    const byConfig = configs.map((c) => ({ label: c.label, met: c.rows[i]?.met ?? null }));
    const missedIn = byConfig.filter((b) => b.met === false).map((b) => b.label);
    return {
      measure,
      label: GOALS[measure].label,
      target: GOALS[measure].target,
      byConfig,
      met: missedIn.length > 0 ? false : byConfig.some((b) => b.met === true) ? true : null,
      missedIn,
    };
  });
  return { configs, summary };
}

function verdict(met: boolean | null): string {
  return met === null ? 'n/a' : met ? 'met' : '**missed**';
}

/** The goal check of one configuration as a table: a row per measure. */
export function renderGoalTable(goals: ConfigGoals): string {
  const lines = ['| measure | ours | best alternative | target | result |', '|---|---|---|---|---|'];
  for (const r of goals.rows) {
    const show = GOALS[r.measure].show;
    lines.push(
      `| ${r.label} | ${r.ours === null ? 'n/a' : show(r.ours)} | ${r.best === null ? 'n/a' : `${show(r.best)} (${r.bestStrategy})`} | ${r.target} | ${verdict(r.met)} |`,
    );
  }
  return lines.join('\n');
}

/** The goal check over every configuration: a row per measure, a column per configuration. */
export function renderGoalSummary(check: GoalCheck): string {
  const header = ['measure', 'target', ...check.configs.map((c) => c.label), 'all configurations'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const s of check.summary) {
    lines.push(
      `| ${s.label} | ${s.target} | ${[...s.byConfig.map((b) => verdict(b.met)), verdict(s.met)].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** What `npm run bench` writes to `<name>.json`: every measure, the targets and the goal check. */
export function resultsJson(
  result: BenchResult,
): BenchResult & { targets: TargetCheck[]; goalCheck: GoalCheck } {
  return { ...result, targets: evaluateTargets(result), goalCheck: evaluateGoals(result) };
}

/**
 * The whole report: machine, command, a table and the goal check per configuration, the goal check
 * over all of them, the targets.
 */
export function renderMarkdown(result: BenchResult): string {
  const m = result.meta;
  const out: string[] = [];
  out.push(
    `# Benchmark: the cost of waiting for APS jobs (${m.finishedAt.slice(0, 16).replace('T', ' ')} UTC)`,
  );
  out.push('');
  out.push(
    `- Machine: ${m.machine.nproc} CPUs (${m.machine.cpuModel}), ${m.machine.memoryGiB} GiB, ${m.machine.platform}, Node ${m.machine.node}`,
  );
  out.push(
    `- Temporal: ${m.temporal.cli} (CLI ${m.temporal.cliRelease}, ${m.temporal.cliSource}), dev server on ${m.temporal.storage}; idle server CPU ${fmt(m.temporal.serverIdleCpuPct)} % of a core`,
  );
  out.push(
    `- Load average (1/5/15 min): ${m.load.atStart.join(' / ')} at the start, ${m.load.atEnd.join(' / ')} at the end, highest 1-min seen ${m.load.maxSeen1m}`,
  );
  out.push(`- Command: \`${m.command}\` (${Math.round(m.durationS / 60)} min)`);
  out.push(
    `- Workers: one process per phase; maxCachedWorkflows ${m.worker.maxCachedWorkflows}; workflowThreadPoolSize ${m.worker.workflowThreads ?? 1}; maxConcurrentWorkflowTaskExecutions ${m.worker.maxWorkflowTasks}; maxConcurrentActivityTaskExecutions ${m.worker.maxActivities}; Node flags ${m.worker.nodeOptions.length > 0 ? `\`${m.worker.nodeOptions.join(' ')}\`` : 'none'}; ${m.worker.startConcurrency} starts in flight`,
  );
  const extra = Object.entries(m.temporal.dynamicConfig).filter(([k]) => !(k in BENCH_DYNAMIC_CONFIG));
  if (extra.length > 0) {
    out.push(
      `- Server dynamic config beyond the raised limits: ${extra.map(([k, v]) => `\`${k}=${JSON.stringify(v)}\``).join(', ')}`,
    );
  }
  out.push('');
  out.push('Strategies: ' + STRATEGIES.map((s) => `**${s}** = ${STRATEGY_LABELS[s]}`).join('; ') + '.');
  const goals = evaluateGoals(result);
  for (const [i, c] of result.configs.entries()) {
    out.push('');
    out.push(
      `## ${configLabel(c)}: ${c.jobs} jobs Starting ${formatMs(c.polls * c.pollIntervalMs - c.pollIntervalMs)}–${formatMs(c.polls * c.pollIntervalMs)} (mean ${formatMs(c.startingMsMean)}), ${c.maxActivities} activity slots`,
    );
    out.push('');
    out.push(renderConfigTable(c));
    const goalsOfConfig = goals.configs[i];
    if (goalsOfConfig) {
      out.push('');
      out.push(`### Goal check: ${configLabel(c)}, ours against the best of ${ALTERNATIVES.join(' and ')}`);
      out.push('');
      out.push(renderGoalTable(goalsOfConfig));
    }
  }
  const frontier = renderFrontier(result);
  if (frontier !== '') {
    out.push('');
    out.push('## The frontier: heartbeat timeout against what it costs (ours)');
    out.push('');
    out.push(frontier);
  }
  out.push('');
  out.push('## Goal check: all configurations');
  out.push('');
  out.push(renderGoalSummary(goals));
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| target | measured | met |');
  out.push('|---|---|---|');
  for (const t of evaluateTargets(result)) {
    out.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'no data' : t.met ? 'yes' : '**no**'} |`);
  }
  return `${out.join('\n')}\n`;
}

/** The figures the dev server and the stack are compared on, per configuration and strategy. */
export interface ServerRow {
  config: string;
  strategy: StrategyName;
  server: 'dev' | 'stack';
  storage: string;
  completed: number;
  jobs: number;
  jobsPerSec: number | null;
  serverCpuMsPerJob: number | null;
  persistenceRequestsPerJob: number | null;
  detectionP99Ms: number | null;
  workerRssPeakMb: number | null;
}

/** One row per configuration × strategy × server. */
export function serverComparisonJson(
  runs: readonly { server: 'dev' | 'stack'; result: BenchResult }[],
): ServerRow[] {
  const rows: ServerRow[] = [];
  const first = runs[0]?.result;
  for (const [i, c] of (first?.configs ?? []).entries()) {
    for (const strategy of Object.keys(c.phases) as StrategyName[]) {
      for (const { server, result } of runs) {
        const p = result.configs[i]?.phases[strategy];
        if (!p) continue;
        rows.push({
          config: configLabel(c),
          strategy,
          server,
          storage: result.meta.temporal.storage,
          completed: p.completed,
          jobs: p.jobs,
          jobsPerSec: p.jobsPerSec,
          serverCpuMsPerJob: p.server.cpuMsPerJob,
          persistenceRequestsPerJob: p.server.persistenceRequestsPerJob,
          detectionP99Ms: p.detection?.p99 ?? null,
          workerRssPeakMb: p.worker.rssPeakMb,
        });
      }
    }
  }
  return rows;
}

/** The dev server and the stack side by side, with the stack's figure as a multiple of the dev server's. */
export function renderServerComparison(
  runs: readonly { server: 'dev' | 'stack'; result: BenchResult }[],
): string {
  const rows = serverComparisonJson(runs);
  const dev = new Map(rows.filter((r) => r.server === 'dev').map((r) => [`${r.config}|${r.strategy}`, r]));
  const lines = [
    '| configuration | strategy | server | completed | jobs/s | server CPU ms/job | persistence requests/job | detection p99 | worker RSS peak |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const d = r.server === 'stack' ? dev.get(`${r.config}|${r.strategy}`) : undefined;
    const vs = (a: number | null, b: number | null | undefined): string => (d ? ` (${ratio(a, b)})` : '');
    lines.push(
      `| ${r.config} | ${r.strategy} | ${r.server} | ${r.completed}/${r.jobs} | ${fmt(r.jobsPerSec)}${vs(r.jobsPerSec, d?.jobsPerSec)} | ` +
        `${fmt(r.serverCpuMsPerJob)}${vs(r.serverCpuMsPerJob, d?.serverCpuMsPerJob)} | ` +
        `${fmt(r.persistenceRequestsPerJob)}${vs(r.persistenceRequestsPerJob, d?.persistenceRequestsPerJob)} | ` +
        `${fmt(r.detectionP99Ms, ' ms')}${vs(r.detectionP99Ms, d?.detectionP99Ms)} | ` +
        `${fmt(r.workerRssPeakMb, ' MB')}${vs(r.workerRssPeakMb, d?.workerRssPeakMb)} |`,
    );
  }
  const storage = runs
    .map(({ server, result }) => `- **${server}**: ${result.meta.temporal.storage}`)
    .join('\n');
  return `## Dev server and production stack, side by side\n\n${storage}\n\nIn brackets: the stack's figure as a multiple of the dev server's.\n\n${lines.join('\n')}\n`;
}
