import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR, loadHistory } from '../support/histories';
import { workflowBundle } from '../support/stack';

describe('replay: recorded histories replay without determinism errors', function () {
  this.timeout(120_000);
  // One folder per release that recorded them (never re-recorded), and current/ for this code.
  const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.json'),
  );

  it('has the histories of release 0.1.0 to replay, as recorded then', () => {
    const released = files.filter((f) => f.startsWith(`0.1.0${sep}`));
    assert.equal(released.length, 21, `histories of 0.1.0: ${released.join(', ')}`);
  });

  it('has the histories recorded just before waits were held in process', () => {
    const frozen = files.filter((f) => f.startsWith(`before-in-process-wait${sep}`));
    assert.equal(frozen.length, 26, `histories before in-process waits: ${frozen.join(', ')}`);
  });

  it('replays every recorded history', async () => {
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: loadHistory(readFileSync(join(HISTORIES_DIR, f), 'utf8')),
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories,
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
