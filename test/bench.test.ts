import { strict as assert } from 'node:assert';
import { STRATEGIES } from '../bench/api';
import { runBench, type PhaseResult } from '../bench/harness';
import { BenchArgsError, MATRIX_CONFIGS, parseBenchArgs } from '../bench/options';
import { evaluateTargets, renderMarkdown } from '../bench/report';
import { DEFAULT_WORKER_TUNING, WORKER_NODE_OPTIONS } from '../src/config';

// Proves the benchmark harness runs end to end at a tiny size. Structure only: timings depend on
// the machine, and the benchmark itself (npm run bench) is where they are measured.
describe('benchmark harness (N=5)', function () {
  this.timeout(90_000);

  it('runs every strategy and reports every measure', async () => {
    const result = await runBench({
      configs: [{ jobs: 5, polls: 1, pollIntervalMs: 1_000 }],
      historySample: 2,
      settleMs: 300,
      idleProbeMs: 300,
      log: () => undefined,
    });
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
      if (strategy === 'empty') {
        assert.equal(phase.api, null);
        assert.equal(phase.detection, null);
      } else {
        assert.ok(phase.api, `${strategy} api`);
        assert.equal(phase.api.startsPerJobMax, 1, `${strategy} starts`);
        assert.equal(typeof phase.detection?.p99, 'number', `${strategy} detection`);
        assert.ok(phase.slots && phase.slots.waitingExecutions > 0, `${strategy} waiting executions`);
      }
    }
    // The workers run with the package's defaults, as `npm run worker` starts them.
    assert.equal(result.meta.worker.maxCachedWorkflows, DEFAULT_WORKER_TUNING.maxCachedWorkflows);
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
  });
});

describe('benchmark flags', () => {
  it('default to the worker as shipped, and take the SDK cache or extra server config on request', () => {
    const d = parseBenchArgs([]).bench;
    assert.equal(d.maxCachedWorkflows, undefined);
    assert.equal(d.maxWorkflowTasks, undefined);
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

  it('name the flag of a bad value', () => {
    const bad: [string[], RegExp][] = [
      [['--max-cached-workflows', 'lots'], /^--max-cached-workflows: a whole number/],
      [['--server-config', 'novalue'], /^--server-config: expected key=JSON, got novalue/],
      [['--server-config', 'a.b={'], /^--server-config: the value of a\.b is not JSON/],
      [['--max-workflow-tasks', '0'], /^--max-workflow-tasks: a whole number/],
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
