import { strict as assert } from 'node:assert';
import { STRATEGIES } from '../bench/api';
import { runBench, type BenchResult, type PhaseResult } from '../bench/harness';
import { BenchArgsError, MATRIX_CONFIGS, parseBenchArgs } from '../bench/options';
import {
  evaluateGoals,
  evaluateTargets,
  renderFrontier,
  renderMarkdown,
  renderServerComparison,
  resultsJson,
  serverComparisonJson,
  type GoalCheck,
} from '../bench/report';
import { DEFAULT_WORKER_TUNING, WORKER_NODE_OPTIONS } from '../src/config';

// Proves the benchmark harness runs end to end at a tiny size. Structure only: timings depend on
// the machine, and the benchmark itself (npm run bench) is where they are measured.
describe('benchmark harness (N=5)', function () {
  this.timeout(90_000);

  let result: BenchResult;

  before(async () => {
    result = await runBench({
      configs: [{ jobs: 5, polls: 1, pollIntervalMs: 1_000 }],
      historySample: 2,
      settleMs: 300,
      idleProbeMs: 300,
      log: () => undefined,
    });
  });

  it('sets two servers side by side, the second as a multiple of the first', () => {
    const faster = structuredClone(result);
    for (const c of faster.configs) {
      for (const p of Object.values(c.phases)) {
        if (p.jobsPerSec !== null) p.jobsPerSec *= 2;
      }
    }
    faster.meta.temporal.storage = 'PostgreSQL';
    const runs = [
      { server: 'dev' as const, result },
      { server: 'stack' as const, result: faster },
    ];
    const rows = serverComparisonJson(runs);
    assert.equal(rows.length, 2 * STRATEGIES.length);
    const md = renderServerComparison(runs);
    assert.match(md, /- \*\*stack\*\*: PostgreSQL/);
    for (const strategy of STRATEGIES) {
      const stackRow = md.split('\n').find((l) => l.includes(`| ${strategy} | stack |`));
      assert.ok(stackRow, `no stack row for ${strategy}`);
      assert.match(stackRow, /\(2\.00×\)/, stackRow);
    }
  });

  it('runs every strategy and reports every measure', () => {
    assert.equal(result.configs.length, 1);
    const config = result.configs[0];
    assert.ok(config);
    assert.deepEqual(Object.keys(config.phases).sort(), [...STRATEGIES].sort());
    for (const strategy of STRATEGIES) {
      const phase: PhaseResult | undefined = config.phases[strategy];
      assert.ok(phase, strategy);
      assert.equal(phase.completed, 5, `${strategy} completed`);
      assert.equal(typeof phase.jobsPerSec, 'number', `${strategy} jobsPerSec`);
      assert.equal(typeof phase.history.events.p50, 'number', `${strategy} events`);
      assert.equal(phase.history.fetchedMatching, phase.history.fetched, `${strategy} history counts`);
      assert.equal(typeof phase.worker.rssPeakMb, 'number', `${strategy} rss`);
      assert.equal(typeof phase.worker.cpuS, 'number', `${strategy} cpu`);
      assert.ok((phase.worker.eventLoopDelayMs.max ?? 0) > 0, `${strategy} event loop delay`);
      if (strategy === 'ours') {
        // Every wait handed to the waiter heartbeats at once (the start took effect).
        assert.ok((phase.worker.waiterHeartbeatsPerJob ?? 0) >= 1, 'ours heartbeats');
      } else {
        // Their workers have the package's waiter (one bundle for all), which holds none of their waits.
        assert.equal(phase.worker.waiterHeartbeatsPerJob, strategy === 'empty' ? null : 0, strategy);
      }
      if (strategy === 'empty') {
        assert.equal(phase.api, null);
        assert.equal(phase.detection, null);
      } else {
        assert.ok(phase.api, `${strategy} api`);
        assert.equal(phase.api.startsPerJobMax, 1, `${strategy} starts`);
        assert.equal(typeof phase.detection?.p99, 'number', `${strategy} detection`);
        // Detection splits into the read lag and the path from that read's answer to the close.
        const parts: PhaseResult['detectionParts'] = phase.detectionParts;
        assert.ok(parts, `${strategy} detection parts`);
        assert.equal(typeof parts.readLag.p50, 'number', `${strategy} read lag`);
        assert.ok((parts.answerToClose.p50 ?? -1) >= 0, `${strategy} answer to close`);
        // ActivityTaskCompleted → close splits at the final workflow task's start, in the same histories.
        assert.ok((parts.completedToTaskStarted.p50 ?? -1) >= 0, `${strategy} completed to task started`);
        assert.ok((parts.taskStartedToClose.p50 ?? -1) >= 0, `${strategy} task started to close`);
        assert.ok(
          (parts.completedToTaskStarted.max ?? Infinity) <= (parts.completedToClose.max ?? -1) &&
            (parts.taskStartedToClose.max ?? Infinity) <= (parts.completedToClose.max ?? -1),
          `${strategy} both within ActivityTaskCompleted → close`,
        );
        assert.ok(
          (parts.readLag.p99 ?? -1) <= (phase.detection?.p99 ?? -1),
          `${strategy} read lag within detection`,
        );
        assert.ok(phase.slots && phase.slots.waitingExecutions > 0, `${strategy} waiting executions`);
      }
    }
    // The workers run with the package's defaults, as `npm run worker` starts them.
    assert.equal(result.meta.worker.maxCachedWorkflows, DEFAULT_WORKER_TUNING.maxCachedWorkflows);
    assert.equal(result.meta.worker.workflowThreads, DEFAULT_WORKER_TUNING.workflowThreadPoolSize);
    assert.equal(
      result.meta.worker.maxWorkflowTasks,
      DEFAULT_WORKER_TUNING.maxConcurrentWorkflowTaskExecutions,
    );
    assert.deepEqual(result.meta.worker.nodeOptions, WORKER_NODE_OPTIONS.split(' '));
    assert.equal(config.maxActivities, DEFAULT_WORKER_TUNING.maxConcurrentActivityTaskExecutions);
    assert.equal(evaluateTargets(result).length, 5);
    const markdown = renderMarkdown(result);
    assert.match(markdown, /\| +\| empty \| ours \| naive \| heartbeat \| ours ÷ naive \|/);
    assert.match(markdown, /## Targets/);
    assert.match(
      markdown,
      /\| … then to the close, p50 \/ p99, ms: .* \| \d+ \/ \d+ \(server\), \d+ \/ \d+ \(worker\) \|/,
    );
  });

  // Every row of the goal check, in order.
  const MEASURES = [
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
  ];

  it('checks the goals of every configuration, met computed from the figures it shows', () => {
    const json = JSON.parse(JSON.stringify(resultsJson(result))) as { goalCheck: GoalCheck };
    const check = json.goalCheck;
    assert.equal(check.configs.length, result.configs.length);
    const config = result.configs[0];
    const goals = check.configs[0];
    assert.ok(config && goals);
    assert.deepEqual(
      { label: goals.label, jobs: goals.jobs, polls: goals.polls, pollIntervalMs: goals.pollIntervalMs },
      { label: 'N=5 K=1 I=1s', jobs: 5, polls: 1, pollIntervalMs: 1_000 },
    );
    assert.deepEqual(
      goals.rows.map((r) => r.measure),
      MEASURES,
    );
    for (const r of goals.rows) {
      assert.ok(r.met === null || typeof r.met === 'boolean', r.measure);
      assert.equal(typeof r.label, 'string');
      assert.equal(typeof r.target, 'string');
      assert.ok(r.ours === null || typeof r.ours === 'number', r.measure);
      assert.ok(r.bestStrategy === null || ['naive', 'heartbeat'].includes(r.bestStrategy), r.measure);
      assert.equal(r.best === null, r.bestStrategy === null, r.measure);
    }
    const row = (measure: string) => goals.rows.find((r) => r.measure === measure);

    // Throughput: ours' net jobs/s against the higher of naive's and heartbeat's.
    const ours = config.phases.ours as PhaseResult;
    const alternatives = (['naive', 'heartbeat'] as const).map((s) => ({
      s,
      v: config.phases[s]?.netJobsPerSec as number,
    }));
    const top = alternatives.reduce((a, b) => (b.v > a.v ? b : a));
    const throughput = row('throughput');
    assert.ok(throughput);
    assert.equal(throughput.ours, ours.netJobsPerSec);
    assert.equal(throughput.best, top.v);
    assert.equal(throughput.bestStrategy, top.s);
    assert.equal(throughput.met, (throughput.ours as number) >= throughput.best);

    // Worker CPU: the lower is best.
    const cpu = row('workerCpuPerJob');
    assert.ok(cpu && cpu.ours !== null && cpu.best !== null);
    assert.equal(
      cpu.best,
      Math.min(...alternatives.map(({ s }) => config.phases[s]?.worker.cpuMsPerJob as number)),
    );
    assert.equal(cpu.met, cpu.ours <= cpu.best);

    // Detection p99 against I + 1 s.
    const bound = row('detectionP99Bound');
    assert.ok(bound);
    assert.equal(bound.limit, 2_000);
    assert.equal(bound.ours, ours.detection?.p99);
    assert.equal(bound.met, (bound.ours as number) <= 2_000);
    assert.equal(row('apiCallsBeyondPolls')?.met, (ours.api?.extraPerJobMax ?? Infinity) <= 1);

    // Not applicable at I = 1 s, at N = 5, and with one configuration.
    assert.equal(row('slotShare')?.met, null);
    assert.equal(row('workerRssPeak')?.met, null);
    assert.equal(row('historyEventsMax')?.met, null);

    assert.deepEqual(
      check.summary.map((r) => r.measure),
      MEASURES,
    );
    for (const [i, s] of check.summary.entries()) {
      assert.deepEqual(s.byConfig, [{ label: goals.label, met: goals.rows[i]?.met }]);
      assert.equal(s.met, goals.rows[i]?.met);
      assert.deepEqual(s.missedIn, s.met === false ? [goals.label] : []);
    }

    const markdown = renderMarkdown(result);
    assert.match(markdown, /### Goal check: N=5 K=1 I=1s, ours against the best of naive and heartbeat/);
    assert.match(
      markdown,
      /## Goal check: all configurations\n\n\| measure \| target \| N=5 K=1 I=1s \| all configurations \|/,
    );
    const verdicts =
      markdown.slice(0, markdown.indexOf('## Targets')).match(/\| (met|\*\*missed\*\*|n\/a) \|$/gm) ?? [];
    assert.equal(verdicts.length, 2 * MEASURES.length);
  });

  it('a frontier table over the heartbeat timeout, only when one was set', () => {
    assert.equal(renderFrontier(result), '');
    assert.doesNotMatch(renderMarkdown(result), /## The frontier/);
    const set = structuredClone(result);
    const c = set.configs[0];
    assert.ok(c);
    c.heartbeatTimeoutMs = 120_000;
    const ours = c.phases.ours as PhaseResult;
    const row = renderFrontier(set).split('\n')[2] ?? '';
    assert.equal(
      row,
      `| N=5 K=1 I=1s | 2m | ${ours.worker.waiterHeartbeatsPerJob} | ${ours.server.cpuMsPerJob} | ` +
        `${ours.server.persistenceRequestsPerJob} | ${ours.worker.cpuMsPerJob} | ${ours.detection?.p99} | ` +
        `${Math.round(10_000 * (ours.slots?.slotShareOfWait ?? 0)) / 100} % | ${ours.netJobsPerSec} |`,
    );
    assert.match(renderMarkdown(set), /## The frontier: heartbeat timeout/);
  });

  it('says n/a without an alternative, counts an incomplete run as missed, and compares history across configurations', () => {
    const alone = structuredClone(result);
    const only = alone.configs[0];
    assert.ok(only);
    delete only.phases.naive;
    delete only.phases.heartbeat;
    for (const r of evaluateGoals(alone).configs[0]?.rows ?? []) {
      assert.equal(r.best, null, r.measure);
      if (['throughput', 'detectionP99', 'workerCpuPerJob', 'serverCpuPerJob'].includes(r.measure)) {
        assert.equal(r.met, null, r.measure);
      }
    }
    assert.match(
      renderMarkdown(alone),
      /\| jobs\/s net of the jobs’ own Starting time \| [^|]+ \| n\/a \| [^|]+ \| n\/a \|/,
    );

    const incomplete = structuredClone(result);
    const oursPhase = incomplete.configs[0]?.phases.ours;
    assert.ok(oursPhase);
    oursPhase.notCompleted = 1;
    oursPhase.netJobsPerSec = null;
    const throughput = evaluateGoals(incomplete).configs[0]?.rows[0];
    assert.deepEqual([throughput?.measure, throughput?.ours, throughput?.met], ['throughput', null, false]);

    const two = structuredClone(result);
    const first = two.configs[0];
    assert.ok(first);
    const second = structuredClone({ ...first, polls: 3 });
    two.configs.push(second);
    const same = evaluateGoals(two);
    assert.deepEqual(
      same.configs.map((c) => c.rows.find((r) => r.measure === 'historyEventsMax')?.met),
      [true, true],
    );
    (second.phases.ours as PhaseResult).history.events.max = (first.phases.ours?.history.events.max ?? 0) + 1;
    const differ = evaluateGoals(two);
    assert.deepEqual(
      differ.configs.map((c) => c.rows.find((r) => r.measure === 'historyEventsMax')?.met),
      [false, false],
    );
    const summary = differ.summary.find((s) => s.measure === 'historyEventsMax');
    assert.deepEqual([summary?.met, summary?.missedIn], [false, ['N=5 K=1 I=1s', 'N=5 K=3 I=1s']]);
  });
});

describe('benchmark flags', () => {
  it('default to the worker as shipped, and take the SDK cache or extra server config on request', () => {
    assert.deepEqual(parseBenchArgs([]).servers, ['dev']);
    assert.deepEqual(parseBenchArgs(['--server', 'dev,stack']).servers, ['dev', 'stack']);
    const d = parseBenchArgs([]).bench;
    assert.equal(d.maxCachedWorkflows, undefined);
    assert.equal(d.maxWorkflowTasks, undefined);
    assert.equal(d.workflowThreads, undefined);
    assert.equal(d.workerNodeOptions, undefined);
    assert.equal(d.serverConfig, undefined);
    const o = parseBenchArgs([
      '--max-cached-workflows',
      'sdk',
      '--worker-node-options=',
      '--server-config',
      'system.enableActivityEagerExecution=true,history.rps=500',
    ]).bench;
    assert.equal(o.maxCachedWorkflows, 'sdk');
    assert.deepEqual(o.workerNodeOptions, []);
    assert.deepEqual(o.serverConfig, { 'system.enableActivityEagerExecution': true, 'history.rps': 500 });
    assert.equal(parseBenchArgs(['--max-cached-workflows', '250']).bench.maxCachedWorkflows, 250);
    assert.equal(parseBenchArgs(['--workflow-threads', '2']).bench.workflowThreads, 2);
  });

  it('--matrix runs the N × I grid, 30 s with fewer polls, and no long-wait configuration unless asked', () => {
    const grid = [
      { jobs: 100, polls: 10, pollIntervalMs: 1_000 },
      { jobs: 100, polls: 10, pollIntervalMs: 8_000 },
      { jobs: 100, polls: 3, pollIntervalMs: 30_000 },
      { jobs: 1000, polls: 10, pollIntervalMs: 1_000 },
      { jobs: 1000, polls: 10, pollIntervalMs: 8_000 },
      { jobs: 1000, polls: 3, pollIntervalMs: 30_000 },
    ];
    assert.deepEqual(MATRIX_CONFIGS, grid);
    const m = parseBenchArgs(['--matrix']);
    assert.equal(m.matrix, true);
    assert.equal(m.name, 'matrix');
    assert.deepEqual(m.bench.configs, grid);
    assert.match(m.bench.command ?? '', /^npm run bench -- --matrix$/);
    const withLong = parseBenchArgs(['--matrix', '--long-polls', '50', '--name', 'grid']);
    assert.equal(withLong.name, 'grid');
    assert.deepEqual(withLong.bench.configs, [...grid, { jobs: 100, polls: 50, pollIntervalMs: 1_000 }]);
    assert.deepEqual(parseBenchArgs(['--matrix', '--long-polls', '0']).bench.configs, grid);
    // Without --matrix, the default run is unchanged.
    const d = parseBenchArgs([]);
    assert.equal(d.matrix, false);
    assert.equal(d.name, 'latest');
    assert.deepEqual(d.bench.configs, [
      { jobs: 100, polls: 10, pollIntervalMs: 1_000 },
      { jobs: 1000, polls: 10, pollIntervalMs: 8_000 },
      { jobs: 100, polls: 100, pollIntervalMs: 1_000 },
    ]);
  });

  it('--matrix with --sizes, --poll-interval or --polls names the flags', () => {
    const bad: [string[], RegExp][] = [
      [['--matrix', '--sizes', '100,1000'], /^--matrix .*: drop --sizes, or run without --matrix$/],
      [['--matrix', '--poll-interval=8s'], /^--matrix .*: drop --poll-interval, or/],
      [['--polls', '3', '--matrix'], /^--matrix .*: drop --polls, or/],
      [
        ['--matrix', '--sizes', '5', '--poll-interval', '1s', '--polls', '1'],
        /^--matrix .*: drop --sizes, --poll-interval, --polls, or/,
      ],
    ];
    for (const [argv, re] of bad) {
      assert.throws(
        () => parseBenchArgs(argv),
        (e: Error) => e instanceof BenchArgsError && re.test(e.message),
        argv.join(' '),
      );
    }
  });

  it('--heartbeat-timeout runs each configuration once per value', () => {
    const { bench } = parseBenchArgs([
      '--sizes',
      '1000',
      '--poll-interval',
      '8s',
      '--long-polls',
      '0',
      '--heartbeat-timeout',
      '10s,30s,2m',
    ]);
    assert.deepEqual(
      bench.configs.map((c) => [c.jobs, c.pollIntervalMs, c.heartbeatTimeoutMs]),
      [
        [1000, 8000, 10_000],
        [1000, 8000, 30_000],
        [1000, 8000, 120_000],
      ],
    );
    assert.equal(
      parseBenchArgs([]).bench.configs.every((c) => c.heartbeatTimeoutMs === undefined),
      true,
    );
  });

  it('name the flag of a bad value', () => {
    const bad: [string[], RegExp][] = [
      [['--max-cached-workflows', 'lots'], /^--max-cached-workflows: a whole number/],
      [['--server-config', 'novalue'], /^--server-config: expected key=JSON, got novalue/],
      [['--server-config', 'a.b={'], /^--server-config: the value of a\.b is not JSON/],
      [['--max-workflow-tasks', '0'], /^--max-workflow-tasks: a whole number/],
      [['--workflow-threads', '0'], /^--workflow-threads: a whole number ≥ 1 and ≤ 16, got 0$/],
      [['--workflow-threads', '17'], /^--workflow-threads: a whole number ≥ 1 and ≤ 16, got 17$/],
      [['--server', 'prod'], /^--server: unknown prod/],
      [['--server', 'dev,dev'], /^--server: dev, stack or dev,stack/],
      [['--server', 'stack', '--db-file', 'x.sqlite'], /^--db-file is a dev server setting/],
      [['--heartbeat-timeout', '5s'], /^Invalid --heartbeat-timeout/],
      [['--heartbeat-timeout', '1h'], /^Invalid --heartbeat-timeout/],
    ];
    for (const [argv, re] of bad) {
      assert.throws(
        () => parseBenchArgs(argv),
        (e: Error) => e instanceof BenchArgsError && re.test(e.message),
        argv.join(' '),
      );
    }
  });
});
