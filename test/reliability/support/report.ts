/**
 * The "nothing lost" accounting: one summary per scenario (printed as one line when the scenario
 * ends), gathered into test/reliability/results/report-<size>.json and a markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { SCENARIO_IDS, type RunSize } from './plan';
import type { Tally } from './runs';

/** What one scenario reports. */
export interface ScenarioSummary {
  /** Short ID, e.g. `worker-crash`. */
  id: string;
  /** Runs (or bad-input cases). */
  jobs: number;
  /** Runs that completed. */
  completed: number;
  /** Runs that failed, by failure type. */
  failed: Record<string, number>;
  /** Runs still open at the deadline. */
  stuck: number;
  /** Jobs the emulator saw started more than once. */
  doubleStarts: number;
  /** StartApsJob calls that reached a job already Starting or Running (no effect, but a call too many). */
  duplicateStartCalls: number;
  /** API calls the emulator received. */
  apiCalls: number;
  /** Wall time of the scenario, ms. */
  wallMs: number;
  /** One line of scenario-specific facts for the table. */
  notes: string;
  /** Scenario-specific numbers. */
  details: Record<string, unknown>;
  /** Whether the scenario's assertions held (set when its test ends). */
  passed?: boolean;
}

const summaries: ScenarioSummary[] = [];

/** Builds a summary from a tally. */
export function summary(
  id: string,
  t: Tally,
  rest: Pick<
    ScenarioSummary,
    'doubleStarts' | 'duplicateStartCalls' | 'apiCalls' | 'wallMs' | 'notes' | 'details'
  >,
): ScenarioSummary {
  const failed = { ...t.failed };
  for (const [state, n] of Object.entries(t.other)) failed[`(${state})`] = n;
  return { id, jobs: t.jobs, completed: t.completed, failed, stuck: t.stuck, ...rest };
}

function failedText(failed: Record<string, number>): string {
  const parts = Object.entries(failed)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Records a scenario's summary and prints its one line. */
export function record(s: ScenarioSummary): void {
  const i = summaries.findIndex((x) => x.id === s.id);
  if (i >= 0) summaries.splice(i, 1, s);
  else summaries.push(s);
  process.stdout.write(
    `      [reliability] ${s.id}: jobs ${s.jobs}, completed ${s.completed}, failed {${failedText(s.failed)}}, ` +
      `stuck ${s.stuck}, double starts ${s.doubleStarts}, duplicate start calls ${s.duplicateStartCalls}, API calls ${s.apiCalls}, wall ${seconds(s.wallMs)} | ${s.notes}\n`,
  );
}

/** A logger that drops everything (workflow bundling). */
export const quietLogger = {
  trace: (): void => undefined,
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
  log: (): void => undefined,
};

/** Root `afterEach` of both suites: a scenario's summary is marked with how its test ended. */
export function markEndedTest(this: Mocha.Context): void {
  const test = this.currentTest;
  const id = /\[([a-z0-9-]+)\]/.exec(test?.title ?? '')?.[1];
  if (id) markPassed(id, test?.state === 'passed');
}

/** Marks the summary of `id` as passed or not (from the test's end state). */
export function markPassed(id: string, passed: boolean): void {
  const s = summaries.find((x) => x.id === id);
  if (s) s.passed = passed;
}

/** The markdown table of every summary recorded. */
export function markdownTable(): string {
  const rows = summaries.map(
    (s) =>
      `| ${s.id} | ${s.jobs} | ${s.completed} | ${failedText(s.failed)} | ${s.stuck} | ${s.doubleStarts} | ${s.duplicateStartCalls} | ${s.apiCalls} | ${seconds(s.wallMs)} | ${s.passed === undefined ? '?' : s.passed ? 'yes' : '**no**'} | ${s.notes.replace(/\|/g, '\\|')} |`,
  );
  return [
    '| scenario | jobs | completed | failed (by code) | stuck | double starts | duplicate start calls | API calls | wall time | passed | notes |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Writes results/report-<size>.json (prettier-formatted, as the repository's check expects). */
export async function writeReport(meta: {
  size: RunSize;
  seed: string;
  startedAt: Date;
  temporalCli?: string;
  /** The stack mode: its scenarios, its file name (`report-stack-<size>.json`) and what it ran on. */
  stack?: { ids: readonly string[]; server: Record<string, unknown> };
}): Promise<string> {
  // A run of some scenarios only (--grep) must not replace the report of a whole run: it goes to
  // test/reliability/.reliability/ (git-ignored) instead.
  const ids = meta.stack?.ids ?? SCENARIO_IDS;
  const complete = ids.every((id) => summaries.some((s) => s.id === id));
  const dir = join(__dirname, '..', complete ? 'results' : '.reliability');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `report-${meta.stack ? 'stack-' : ''}${meta.size}${complete ? '' : '-partial'}.json`,
  );
  const report = {
    ...(meta.stack ? { mode: 'stack', server: meta.stack.server } : {}),
    size: meta.size,
    complete,
    seed: meta.seed,
    startedAt: meta.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, platform: process.platform, cpus: cpus().length },
    temporalCli: meta.temporalCli,
    passed: summaries.every((s) => s.passed === true),
    scenarios: summaries,
    table: markdownTable(),
  };
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(JSON.stringify(report), { ...options, parser: 'json' }));
  return file;
}
