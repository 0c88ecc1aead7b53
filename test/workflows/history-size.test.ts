import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { testEnv } from '../support/env';
import { startStack, type Stack } from '../support/stack';

describe('runApsJob history stays small however long it polls', function () {
  this.timeout(600_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ emulator: { seed: 3 } });
  });
  after(async () => {
    await stack?.stop();
  });

  async function eventsFor(polls: number): Promise<{ events: number; polls: number }> {
    const apsJobId = `aps-hist-${polls}-${randomUUID().slice(0, 6)}`;
    // startingPolls counts reads after the start; the first read in the wait is one of them.
    stack.emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: polls - 1 });
    const handle = await testEnv().client.workflow.start(runApsJob, {
      taskQueue: stack.taskQueue,
      workflowId: `hist-${randomUUID()}`,
      args: [{ regionId: 'cn-hangzhou', apsJobId, pollInterval: '100ms' }],
    });
    const result = await handle.result();
    const history = await handle.fetchHistory();
    return { events: history.events?.length ?? 0, polls: result.polls };
  }

  it('1,000 polls produce as many events as 2 polls', async () => {
    const short = await eventsFor(2);
    const long = await eventsFor(1000);
    assert.equal(short.polls, 2);
    assert.equal(long.polls, 1000);
    assert.equal(long.events, short.events, `events: ${short.events} for 2 polls, ${long.events} for 1000`);
    assert.ok(long.events < 30, `events ${long.events}`);
  });
});
