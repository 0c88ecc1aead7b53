import { strict as assert } from 'node:assert';
import { STRATEGIES } from '../bench/api';
import { runBench, type PhaseResult } from '../bench/harness';
import { evaluateTargets, renderMarkdown } from '../bench/report';

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
    assert.equal(evaluateTargets(result).length, 5);
    const markdown = renderMarkdown(result);
    assert.match(markdown, /\| +\| empty \| ours \| naive \| heartbeat \| ours ÷ naive \|/);
    assert.match(markdown, /## Targets/);
  });
});
