import { strict as assert } from 'node:assert';
import { runCli } from './support/cli';

describe('aps-jobs demo (the README command) end to end', function () {
  this.timeout(300_000);

  it('runs one job to running on embedded defaults, with a visible throttling retry, and exits 0', async () => {
    // No Temporal address, no Alibaba credentials: everything embedded.
    const env: Record<string, string> = {};
    for (const name of ['XDG_CACHE_HOME', 'TEMPORAL_CLI_PATH']) {
      const value = process.env[name];
      if (value) env[name] = value;
    }
    const run = await runCli(['demo', '--json'], env, 280_000);
    assert.equal(run.code, 0, run.stderr);
    // The embedded dev server prints its banner on stdout first; the result is the last line.
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    const result = JSON.parse(last) as {
      apsJobId: string;
      status: string;
      started: boolean;
      effectiveStarts: number;
      uiLink: string;
    };
    assert.equal(result.status, 'Running');
    assert.equal(result.started, true);
    assert.equal(result.effectiveStarts, 1);
    assert.match(
      result.uiLink,
      /^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/aps-job%3Acn-hangzhou%3A/,
    );
    assert.match(run.stderr, /temporal-cli: using /);
    assert.equal((run.stderr.match(/StartApsJob aps-demo0000001 -> Throttling\.User/g) ?? []).length, 2);
    assert.match(run.stderr, /StartApsJob aps-demo0000001 -> OK/);
    assert.match(run.stderr, /Temporal UI: http/);
    assert.match(run.stderr, /demo: shutting down/);
  });
});
