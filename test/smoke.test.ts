import { strict as assert } from 'node:assert';
import { Worker } from '@temporalio/worker';
import { testEnv, uniqueTaskQueue } from './support/env';
import { smokeWorkflow, type SmokeActivities } from './support/workflows/smoke';

describe('smoke: a real worker on a real dev server', () => {
  it('runs a workflow with one activity and the server records the activity events', async () => {
    const env = testEnv();
    const taskQueue = uniqueTaskQueue('smoke');
    const calls: string[] = [];
    const activities: SmokeActivities = {
      greet({ name }) {
        calls.push(name);
        return Promise.resolve(`hello, ${name}`);
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./support/workflows/smoke'),
      activities,
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(smokeWorkflow, {
        taskQueue,
        workflowId: `smoke-${taskQueue}`,
        args: [{ name: 'aps' }],
      }),
    );
    assert.equal(result, 'hello, aps');
    assert.deepEqual(calls, ['aps']);

    const history = await env.client.workflow.getHandle(`smoke-${taskQueue}`).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes);
    assert.equal(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name, 'greet');
    assert.equal(events.filter((e) => e.activityTaskCompletedEventAttributes).length, 1);
    assert.ok(events.some((e) => e.workflowExecutionCompletedEventAttributes));
  });
});
