/**
 * The results as markdown tables, and the issue's targets checked against them.
 */
import { BENCH_DYNAMIC_CONFIG } from './dev-server';
import { formatMs } from '../src/validation';
import { STRATEGIES, STRATEGY_LABELS, type StrategyName } from './api';
import { configLabel, type BenchResult, type ConfigResult, type Dist, type PhaseResult } from './harness';

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

/** The whole report: machine, command, a table per configuration, the targets. */
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
    `- Workers: one process per phase; maxCachedWorkflows ${m.worker.maxCachedWorkflows}; maxConcurrentWorkflowTaskExecutions ${m.worker.maxWorkflowTasks}; maxConcurrentActivityTaskExecutions ${m.worker.maxActivities}; Node flags ${m.worker.nodeOptions.length > 0 ? `\`${m.worker.nodeOptions.join(' ')}\`` : 'none'}; ${m.worker.startConcurrency} starts in flight`,
  );
  const extra = Object.entries(m.temporal.dynamicConfig).filter(([k]) => !(k in BENCH_DYNAMIC_CONFIG));
  if (extra.length > 0) {
    out.push(
      `- Server dynamic config beyond the raised limits: ${extra.map(([k, v]) => `\`${k}=${JSON.stringify(v)}\``).join(', ')}`,
    );
  }
  out.push('');
  out.push('Strategies: ' + STRATEGIES.map((s) => `**${s}** = ${STRATEGY_LABELS[s]}`).join('; ') + '.');
  for (const c of result.configs) {
    out.push('');
    out.push(
      `## ${configLabel(c)}: ${c.jobs} jobs Starting ${formatMs(c.polls * c.pollIntervalMs - c.pollIntervalMs)}–${formatMs(c.polls * c.pollIntervalMs)} (mean ${formatMs(c.startingMsMean)}), ${c.maxActivities} activity slots`,
    );
    out.push('');
    out.push(renderConfigTable(c));
  }
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
