import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { runApsJob } from '../../src/workflows/run-aps-job';
import { testEnv } from '../support/env';
import { startStack, type Stack } from '../support/stack';

// Polls are activity retries, and the server re-dispatches a retry no sooner than about a second:
// 1,000 polls take about 17 minutes. The default suite compares 2 with 100 polls;
// HISTORY_POLLS=1000 runs the full comparison.
const LONG_POLLS = Number(process.env.HISTORY_POLLS ?? 100);

describe('runApsJob history stays small however long it polls', function () {
  this.timeout(LONG_POLLS * 1500 + 60_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ emulator: { seed: 3 } });
  });
  after(async () => {
    await stack?.stop();
  });

  async function eventsFor(polls: number): Promise<{ events: number; polls: number }> {
    const apsJobId = `aps-hist-${polls}-${randomUUID().slice(0, 6)}`;
    // startingPolls counts reads after the start; the last read of the wait sees Running.
    stack.emulator.addJob({ apsJobId, regionId: 'cn-hangzhou', kind: 'streaming', startingPolls: polls - 1 });
    const handle = await testEnv().client.workflow.start(runApsJob, {
      taskQueue: stack.taskQueue,
      workflowId: `hist-${randomUUID()}`,
      args: [{ regionId: 'cn-hangzhou', apsJobId, pollInterval: '1s', timeout: '2h' }],
    });
    const result = await handle.result();
    const history = await handle.fetchHistory();
    return { events: history.events?.length ?? 0, polls: result.polls };
  }

  it(`${LONG_POLLS} polls produce as many events as 2 polls`, async () => {
    const [short, long] = await Promise.all([eventsFor(2), eventsFor(LONG_POLLS)]);
    assert.equal(short.polls, 2);
    assert.equal(long.polls, LONG_POLLS);
    assert.equal(
      long.events,
      short.events,
      `events: ${short.events} for 2 polls, ${long.events} for ${LONG_POLLS}`,
    );
    assert.ok(long.events < 30, `events ${long.events}`);
  });
});
